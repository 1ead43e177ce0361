"""Readers, tested on fixture files written here in each dataset's real layout (no licensed images)."""
import cv2
import numpy as np
import pytest

from classification.datasets import read_adience, read_fairface, read_utkface, split_of
from tests.conftest import DATASETS, needs_datasets

ADIENCE_HEADER = "user_id\toriginal_image\tface_id\tage\tgender\tx\ty\tdx\tdy\ttilt_ang\tfiducial_yaw_angle\tfiducial_score\n"


def _jpg(path, size=40):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((size, size, 3), 128, np.uint8))


def test_adience_reader_real_layout(tmp_path):
    rows = [("u1", "a.jpg", "1", "(25, 32)", "f"), ("u1", "b.jpg", "2", "None", "m"),
            ("u2", "c.jpg", "3", "35", "u"), ("u2", "d.jpg", "4", "(38, 42)", ""),
            ("u3", "missing.jpg", "5", "(0, 2)", "m")]
    (tmp_path / "fold_0_data.txt").write_text(ADIENCE_HEADER + "".join(
        f"{u}\t{o}\t{f}\t{a}\t{g}\t1\t2\t3\t4\t0\t0\t50\n" for u, o, f, a, g in rows))
    _jpg(tmp_path / "faces" / "u1" / "coarse_tilt_aligned_face.1.a.jpg")
    _jpg(tmp_path / "faces" / "u1" / "coarse_tilt_aligned_face.2.b.jpg")
    _jpg(tmp_path / "aligned" / "u2" / "landmark_aligned_face.3.c.jpg")
    _jpg(tmp_path / "faces" / "u2" / "coarse_tilt_aligned_face.4.d.jpg")
    samples = read_adience(tmp_path, folds=(0,))
    # 'None' age dropped, missing image dropped
    assert [s.subject for s in samples] == ["u1", "u2", "u2"]
    assert samples[0].gender == 1 and int(np.argmax(samples[0].age_soft)) == 4
    assert samples[1].gender == -1 and samples[1].age_soft.sum() == pytest.approx(1.0)
    assert samples[2].gender == -1
    assert samples[1].path.endswith("landmark_aligned_face.3.c.jpg")


def test_utkface_reader_parses_names_and_skips_bad_ones(tmp_path):
    for name in ("25_1_0_20170116174525125.jpg.chip.jpg", "3_0_20170109150557335.jpg.chip.jpg",
                 "61_1_20170109142408075.jpg.chip.jpg", "x_0_0_1.jpg.chip.jpg", "40_5_0_1.jpg.chip.jpg"):
        _jpg(tmp_path / "UTKFace" / name)
    samples = {s.age_years: s for s in read_utkface(tmp_path)}
    assert sorted(samples) == [3.0, 25.0, 61.0]
    assert samples[25.0].gender == 1 and samples[3.0].age_soft[0] == pytest.approx(0.5)


def test_fairface_reader(tmp_path):
    _jpg(tmp_path / "train" / "1.jpg")
    _jpg(tmp_path / "train" / "2.jpg")
    (tmp_path / "labels.csv").write_text("file,age,gender,race,service_test\n"
                                         "train/1.jpg,more than 70,Male,White,True\n"
                                         "train/2.jpg,20-29,Female,Black,False\n"
                                         "train/3.jpg,20-29,Female,Black,False\n")
    samples = read_fairface(tmp_path, "labels.csv")
    assert len(samples) == 2
    assert samples[0].age_soft[7] == 1.0 and samples[0].gender == 0
    assert samples[1].age_range_years == (20, 29) and samples[1].gender == 1


def test_split_is_deterministic_and_about_ten_percent():
    keys = [f"k{i}" for i in range(5000)]
    assert [split_of(k) for k in keys] == [split_of(k) for k in keys]
    assert 0.08 < sum(split_of(k) == "test" for k in keys) / len(keys) < 0.12


@needs_datasets()
def test_real_adience_label_files_parse():
    from classification.labels import parse_adience_age
    import csv
    rows = list(csv.DictReader(open(DATASETS / "adience_labels" / "fold_1_data.txt"), delimiter="\t"))
    usable = sum(parse_adience_age(r["age"]) is not None for r in rows)
    assert usable / len(rows) > 0.85
