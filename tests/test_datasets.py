"""Readers, tested on fixture files written here in each dataset's real layout (no licensed images)."""
import cv2
import numpy as np
import pytest

from facedata.datasets import TEST_PERCENT, read_adience, read_fairface, read_utkface, split_of
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
    assert [split_of(k, TEST_PERCENT) for k in keys] == [split_of(k, TEST_PERCENT) for k in keys]
    assert 0.08 < sum(split_of(k, TEST_PERCENT) == "test" for k in keys) / len(keys) < 0.12


@needs_datasets()
def test_real_adience_label_files_parse():
    from core.labels import parse_adience_age
    import csv
    rows = list(csv.DictReader(open(DATASETS / "adience_labels" / "fold_1_data.txt"), delimiter="\t"))
    usable = sum(parse_adience_age(r["age"]) is not None for r in rows)
    assert usable / len(rows) > 0.85


def test_fetched_fairface_layout_excel_damage_and_reserved_files(tmp_path):
    """The fetched copy keeps images under fair_face/, its CSV has Excel's dates for two ranges, and
    byte copies of FairFace validation images (reserved sha1) must never be read."""
    from facedata.datasets import read_fairface, sha1_of_file
    _jpg(tmp_path / "fair_face" / "train" / "1.jpg", 40)
    _jpg(tmp_path / "fair_face" / "train" / "2.jpg", 41)
    _jpg(tmp_path / "fair_face" / "train" / "3.jpg", 42)
    (tmp_path / "fairface_label_train.csv").write_text(
        "file,age,gender,race,service_test\n"
        "train/1.jpg,03-Sep,Male,White,TRUE\ntrain/2.jpg,Oct-19,Female,Black,FALSE\n"
        "train/3.jpg,20-29,Female,Black,FALSE\n")
    reserved = frozenset({sha1_of_file(tmp_path / "fair_face" / "train" / "3.jpg")})
    samples = read_fairface(tmp_path, image_dir="fair_face", reserved_sha1=reserved)
    assert [(s.subject, s.age_range_years) for s in samples] == [("train/1.jpg", (3, 9)), ("train/2.jpg", (10, 19))]


def test_all_age_faces_reader(tmp_path):
    from facedata.datasets import read_aaf
    base = tmp_path / "All-Age-Faces Dataset"
    for name in ("00001A02.jpg", "07381A45.jpg", "00002A30.jpg", "notes.jpg"):
        _jpg(base / "original images" / name, 60)
    (base / "key points").mkdir(parents=True)
    (base / "key points" / "00001A02.txt").write_text("".join(f"{20 + i} {25 + i}\n" for i in range(20)))
    samples = read_aaf(tmp_path, excluded_names=frozenset({"00002A30.jpg"}))
    assert [(s.subject, s.age_years, s.gender) for s in samples] == [("00001", 2.0, 1), ("07381", 45.0, 0)]
    assert samples[0].box is not None and samples[1].box is None  # landmarks only where the file exists
    x1, y1, x2, y2 = samples[0].box
    assert x2 - x1 == pytest.approx(19 * 1.45) and x1 < 20 and y1 < 25


def test_training_sources_prefer_the_fetched_fairface_and_apply_exclusions(tmp_path):
    from facedata.datasets import read_training_sources
    shared, extra = tmp_path / "shared", tmp_path / "extra"
    _jpg(shared / "utkface" / "UTKFace" / "30_1_0_1.jpg.chip.jpg")
    _jpg(shared / "fairface" / "train" / "1.jpg")
    (shared / "fairface" / "fairface_label_train.csv").write_text("file,age,gender\ntrain/1.jpg,20-29,Male\n")
    assert [s.source for s in read_training_sources(shared, extra)] == ["utkface", "fairface"]
    for n in (1, 2):
        _jpg(extra / "fairface" / "fair_face" / "train" / f"{n}.jpg")
    (extra / "fairface" / "fairface_label_train.csv").write_text(
        "file,age,gender\ntrain/1.jpg,20-29,Male\ntrain/2.jpg,30-39,Female\n")
    _jpg(extra / "aaf" / "All-Age-Faces Dataset" / "original images" / "00003A07.jpg")
    _jpg(extra / "aaf" / "All-Age-Faces Dataset" / "original images" / "00004A08.jpg")
    (shared / "aaf_duplicate_images.txt").write_text("00004A08.jpg\n")
    samples = read_training_sources(shared, extra)
    assert [(s.source, s.subject) for s in samples] == [
        ("utkface", "30_1_0_1.jpg.chip.jpg"), ("fairface", "train/1.jpg"), ("fairface", "train/2.jpg"), ("aaf", "00003")]
    # the fetched data without the shared folder: its exclusion lists would be missing, so nothing is read
    from core.errors import SourceError
    with pytest.raises(SourceError, match="no dataset folder at .*--datasets"):
        read_training_sources(tmp_path / "missing", extra)
