"""`detection.holdout`: the validation sets no past detector stage was chosen on, built from tiny fixtures."""
from __future__ import annotations

import hashlib
import random

import cv2
import numpy as np
import pytest

from detection import holdout
from detection.evaluate import image_list
from detection.yolo_files import label_path, read_yolo_boxes

FACE_COLOUR = (0, 0, 255)


def _write_fixture(root):
    """A datasets root and an extra root shaped like ../shared/datasets and data/extra."""
    rng = np.random.default_rng(0)
    datasets, extra = root / "datasets", root / "extra"
    wider = datasets / "wider_face_subset"
    (wider / "images" / "train").mkdir(parents=True)
    (wider / "labels" / "train").mkdir(parents=True)
    for k in range(40):
        cv2.imwrite(str(wider / "images" / "train" / f"scene_{k}.jpg"), rng.integers(0, 255, (120, 160, 3), np.uint8))
        (wider / "labels" / "train" / f"scene_{k}.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (datasets / "fairface").mkdir()
    (datasets / "fairface" / "fairface_label_train.csv").write_text("file,age,gender,race,service_test\n"
                                                                     + "".join(f"train/{k}.jpg,20-29,Male,White,True\n" for k in range(0, 200, 2)))
    ff = extra / "fairface"
    (ff / "fair_face" / "train").mkdir(parents=True)
    rows = []
    for k in range(200):
        image = np.full((224, 224, 3), k % 250, np.uint8)
        cv2.imwrite(str(ff / "fair_face" / "train" / f"{k}.jpg"), image)
        rows.append(f"train/{k}.jpg,30-39,Female,White,True\n")
    (ff / "fairface_label_train.csv").write_text("file,age,gender,race,service_test\n" + "".join(rows))
    aaf = extra / "aaf" / "All-Age-Faces Dataset"
    (aaf / "original images").mkdir(parents=True)
    (aaf / "key points").mkdir(parents=True)
    for person in range(100):
        name = f"{person:05d}A{20 + person % 50:02d}"
        image = np.full((340, 305, 3), 200, np.uint8)
        cv2.rectangle(image, (110, 120), (190, 220), FACE_COLOUR, -1)  # the "face": landmarks lie inside it
        cv2.imwrite(str(aaf / "original images" / f"{name}.jpg"), image)
        points = [(120 + 60 * (i % 7) / 6, 140 + 60 * (i // 7) / 6) for i in range(49)]
        (aaf / "key points" / f"{name}.txt").write_text("".join(f"{x} {y}\n" for x, y in points))
    return datasets, extra


def test_set_aside_is_a_stable_fifth_and_never_in_training(tmp_path):
    names = [f"{k}_Parade_{k}.jpg" for k in range(2000)]
    share = sum(holdout.is_set_aside(n) for n in names) / len(names)
    assert 0.17 < share < 0.23
    assert holdout.is_set_aside("0_Parade_0.jpg") == holdout.is_set_aside("0_Parade_0.png")  # by stem
    datasets, _ = _write_fixture(tmp_path)
    wider = datasets / "wider_face_subset"
    aside, train = set(holdout.set_aside_images(wider)), set(holdout.training_images(wider))
    assert aside and train and not aside & train and aside | train == set(holdout.wider_train_images(wider))


def test_held_out_faces_are_classifier_test_faces_outside_the_old_composite_sample(tmp_path):
    from facedata.datasets import split_name
    datasets, extra = _write_fixture(tmp_path)
    first = extra / "fairface" / "fair_face" / "train" / "1.jpg"
    (datasets / "reserved_sha1.txt").write_text(hashlib.sha1(first.read_bytes()).hexdigest() + "\n")
    faces = holdout.held_out_faces(datasets, extra)
    assert {f.source for f in faces} == {"fairface", "aaf"}
    assert all(split_name(f) == "test" for f in faces)
    fairface = [f for f in faces if f.source == "fairface"]
    assert fairface and all(int(f.subject.split("/")[1][:-4]) % 2 == 1 for f in fairface)  # even: shared sample
    assert all(f.subject != "train/1.jpg" for f in fairface)  # reserved sha1: a copy of a validation image
    with pytest.raises(FileNotFoundError, match="MORE_DATA"):
        holdout.held_out_faces(datasets, tmp_path / "nothing")


def test_aaf_chip_puts_the_face_where_its_fractions_say(tmp_path):
    datasets, extra = _write_fixture(tmp_path)
    aaf = [f for f in holdout.held_out_faces(datasets, extra) if f.source == "aaf"][0]
    chip, (fx1, fy1, fx2, fy2) = holdout.face_chip(aaf)
    assert chip.shape[0] == chip.shape[1]
    side = chip.shape[0]
    centre = chip[int((fy1 + fy2) / 2 * side), int((fx1 + fx2) / 2 * side)]
    assert np.abs(centre.astype(int) - FACE_COLOUR).max() < 30
    assert (fx2 - fx1) == pytest.approx(1 / holdout.AAF_CHIP_SIDE_PER_FACE, abs=0.01)


def test_pasted_faces_are_labelled_inside_the_frame_and_never_cut_by_its_edge(tmp_path):
    datasets, extra = _write_fixture(tmp_path)
    faces = holdout.held_out_faces(datasets, extra)
    rng = random.Random(0)
    scene = np.zeros((480, 640, 3), np.uint8)
    spots = holdout.random_spots(rng, 640, 480, 30, (40, 120)) + [(-5, 240, 100)]  # the last would be cut in half
    image, boxes = holdout.paste_faces(scene, [], faces, rng, spots)
    assert 0 < len(boxes) <= 30
    from detection.composites import visible_fraction
    assert all(visible_fraction(b, 640, 480) >= holdout.MIN_VISIBLE_FRACTION for b in boxes)
    assert image[:, :20].max() == 0  # nothing pasted at the left edge


def test_build_writes_deterministic_sets_that_evaluate_reads(tmp_path, monkeypatch):
    datasets, extra = _write_fixture(tmp_path)
    hands = tmp_path / "hands_src"
    hands.mkdir()
    hands_list = tmp_path / "hands.txt"
    hands_list.write_text("# a comment\nh1.jpg\nh2.jpg\n")
    for name in ("h1.jpg", "h2.jpg"):
        cv2.imwrite(str(hands / name), np.zeros((30, 40, 3), np.uint8))
    monkeypatch.setattr(holdout, "HANDS_LIST", hands_list)
    monkeypatch.setattr(holdout, "KIND_COUNTS", {"webcam": 2, "dim": 2, "crowd": 1})
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert holdout.main(["--datasets", str(datasets), "--extra", str(extra), "--hands-src", str(hands),
                             "--out", str(out)]) == 0
        outputs.append(out)
    images = image_list(outputs[0] / "composite_holdout.yaml", "val")
    kinds = {p.name.split("_")[0] for p in images}
    assert kinds == {"scene", "webcam", "dim", "crowd"}
    assert len(image_list(outputs[0] / "wider_setaside.yaml", "val")) == len(holdout.set_aside_images(
        datasets / "wider_face_subset"))
    for image in images:
        h, w = cv2.imread(str(image)).shape[:2]
        boxes = read_yolo_boxes(label_path(image), w, h)
        assert ((boxes >= -0.5) & (boxes <= max(w, h) + 0.5)).all()
        twin = outputs[1] / image.relative_to(outputs[0])
        assert label_path(twin).read_text() == label_path(image).read_text()  # same seed, same set
    crowd = [p for p in images if p.name.startswith("crowd")][0]
    assert cv2.imread(str(crowd)).shape[:2] == (960, 1920)
    assert sorted(p.name for p in (outputs[0] / "negatives_hands").iterdir()) == ["h1.jpg", "h2.jpg"]
    (hands / "h2.jpg").unlink()
    assert holdout.main(["--datasets", str(datasets), "--extra", str(extra), "--hands-src", str(hands),
                         "--out", str(tmp_path / "c")]) == 2


def test_shipped_hands_list_names_only_jpgs_with_its_source():
    text = holdout.HANDS_LIST.read_text()
    assert "SubhiH/HandsDataset" in text and "Apache" in text
    names = holdout.hands_names()
    assert len(names) == len(set(names)) == 310 and all(n.endswith(".jpg") for n in names)
