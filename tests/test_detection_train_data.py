"""`detection.train_data`: the next stage's training data keeps the set-aside and evaluation images out."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from detection import holdout, pack_data, train_data
from tests.test_detection_holdout import _write_fixture

HAND_XML = """<annotation><size><width>160</width><height>120</height></size>
<object><name>hand</name><bndbox><xmin>{x1}</xmin><ymin>20</ymin><xmax>{x2}</xmax><ymax>100</ymax></bndbox></object>
</annotation>"""


def _hands(folder, names):
    folder.mkdir()
    for k, name in enumerate(names):
        cv2.imwrite(str(folder / f"{name}.jpg"), np.full((120, 160, 3), 60 + k, np.uint8))
        (folder / f"{name}.xml").write_text(HAND_XML.format(x1=40, x2=110))


def test_training_data_leaves_out_set_aside_scenes_and_evaluation_hands(tmp_path, monkeypatch):
    datasets, extra = _write_fixture(tmp_path)
    wider = datasets / "wider_face_subset"
    hands = tmp_path / "hands_src"
    _hands(hands, ["eval_frame", "train_frame"])
    hands_list = tmp_path / "hands.txt"
    hands_list.write_text("eval_frame.jpg\n")
    monkeypatch.setattr(holdout, "HANDS_LIST", hands_list)
    monkeypatch.setattr(holdout, "KIND_COUNTS", {"webcam": 1, "dim": 1, "crowd": 1})
    holdout_out = tmp_path / "holdout"
    assert holdout.main(["--datasets", str(datasets), "--extra", str(extra), "--hands-src", str(hands),
                         "--out", str(holdout_out)]) == 0
    old = tmp_path / "old" / "images" / "train"
    old.mkdir(parents=True)
    aside, kept = holdout.set_aside_images(wider)[0].stem, holdout.training_images(wider)[0].stem
    for name in (f"mix_0_{aside}", f"webcam_3_{kept}"):
        cv2.imwrite(str(old / f"{name}.jpg"), np.zeros((32, 32, 3), np.uint8))
    signs = tmp_path / "signs" / "Dataset" / "3"
    signs.mkdir(parents=True)
    for k in range(2):
        cv2.imwrite(str(signs / f"IMG_{k}.JPG"), np.full((100, 100, 3), 200 - 50 * k, np.uint8))
    out = tmp_path / "v2"
    data = train_data.build(datasets, extra, hands, out, holdout_out, old, {"webcam": 2, "dim": 1, "crowd": 1},
                            textures=3, sign_hands=signs.parent.parent, sign_counts=(4, 2, 3))
    config = yaml.safe_load(data.read_text())
    listed = (out / "wider_train.txt").read_text().split()
    assert listed and not any(holdout.is_set_aside(p) for p in listed)
    assert len(listed) + len(holdout.set_aside_images(wider)) == len(holdout.wider_train_images(wider))
    assert [p.rsplit("/", 1)[-1] for p in (out / "old_composites.txt").read_text().split()] == [f"webcam_3_{kept}.jpg"]
    negatives = sorted(p.name for p in (out / "negatives" / "images" / "train").iterdir())
    assert "hand_train_frame_0.jpg" in negatives and not any("eval_frame" in n for n in negatives)
    crop = cv2.imread(str(out / "negatives" / "images" / "train" / "hand_train_frame_0.jpg"))
    assert crop.shape[:2] == (80, 70)  # exactly the annotated box: no margin that could take in a face
    assert sum(n.startswith("texture_") for n in negatives) == 3
    assert all((out / "negatives" / "labels" / "train" / f"{n[:-4]}.txt").read_text() == "" for n in negatives)
    signed = sorted((out / "sign_hands" / "labels" / "train").iterdir())
    torsos = [f for f in signed if f.name.startswith("signtorso_")]
    assert len(signed) == 6 + len(torsos) and len(torsos) <= 3
    assert len(list((out / "sign_hands" / "images" / "train").iterdir())) == len(signed)
    # hands are background: close-ups and odd rooms hold no box, even rooms hold their pasted faces only
    assert all(f.read_text() == "" for f in signed if not f.name.startswith(("signhand_001", "signhand_003")))
    assert str(out / "sign_hands" / "images" / "train") in config["train"]
    assert train_data.main(["--datasets", str(datasets), "--holdout", str(holdout_out), "--out", str(out),
                            "--sign-hands", str(tmp_path / "empty")]) == 2
    composites = list((out / "composites" / "images" / "train").iterdir())
    assert not any(holdout.is_set_aside(p.stem.split("_", 2)[-1]) for p in composites)
    assert all("wider_face_subset/images/val" not in v for v in config["val"])  # never WIDER val
    assert train_data.main(["--datasets", str(datasets), "--holdout", str(tmp_path / "none"), "--out", str(out)]) == 2

    packed = tmp_path / "packed"
    sizes = pack_data.pack(data, packed, quality=80)
    assert len(list((packed / "train0" / "images").iterdir())) == len(listed)  # the .txt list travels
    assert (packed / "train3" / "labels" / "hand_train_frame_0.txt").read_text() == ""
    assert set(sizes) >= {"train0", "train1", "train2", "train3", "val0", "val1"}


def test_hand_alpha_keeps_the_hand_and_drops_the_pale_wall():
    photo = np.full((100, 100, 3), (205, 208, 210), np.uint8)       # a pale grey wall (BGR)
    cv2.ellipse(photo, (50, 60), (18, 30), 0, 0, 360, (120, 160, 210), -1)  # a skin-coloured hand
    alpha = train_data.hand_alpha(photo)
    assert alpha[60, 50] > 0.95 and alpha[5, 5] < 0.05 and alpha[60, 90] < 0.05
    scene = np.zeros((80, 80, 3), np.uint8)
    train_data.paste_hand(scene, photo, -20, -10, 60)  # clipped at the frame's edge, no error
    assert scene.max() > 0 and scene[79, 79].max() == 0


def _green_screen_fist(path=None):
    photo = np.full((200, 300, 3), (40, 170, 50), np.uint8)          # a green screen (BGR), 3:2 like rps-cv
    cv2.rectangle(photo, (200, 80), (299, 120), (120, 160, 210), -1)  # an arm entering through the border
    cv2.circle(photo, (170, 100), 40, (120, 160, 210), -1)            # and its fist
    if path is not None:
        cv2.imwrite(str(path), photo)
    return photo


def test_backdrop_alpha_keys_out_a_green_screen_that_the_pale_wall_rule_would_keep():
    photo = _green_screen_fist()
    alpha = train_data.backdrop_alpha(photo)
    assert alpha[100, 170] > 0.95 and alpha[100, 290] > 0.95       # fist and arm
    assert alpha[10, 10] < 0.05 and alpha[190, 60] < 0.05          # green screen
    assert alpha[100, 170 - 40 + 1] < 0.5                          # shrunk off the rim, where green spills
    assert train_data.hand_alpha(photo)[10, 10] > 0.95             # the chroma rule takes the green as hand


def test_paste_hand_keeps_a_photo_s_proportions():
    scene = np.zeros((200, 200, 3), np.uint8)
    train_data.paste_hand(scene, _green_screen_fist(), 0, 0, 150, train_data.backdrop_alpha)
    rows, cols = np.nonzero(scene.max(axis=2))
    assert cols.max() >= 140 and rows.max() < 100                  # 150 wide, 100 high: not squashed square


def test_base_list_adds_only_the_hand_folders(tmp_path, capsys, monkeypatch):
    datasets, extra = _write_fixture(tmp_path)
    rps = tmp_path / "rps" / "rock"
    rps.mkdir(parents=True)
    for k in range(2):
        _green_screen_fist(rps / f"r{k}.png")
    closeups = tmp_path / "closeups"
    closeups.mkdir()
    cv2.imwrite(str(closeups / "Fist_1.jpg"), np.full((128, 128, 3), 90, np.uint8))
    base = tmp_path / "mix.txt"
    base.write_text("/somewhere/else/scene.jpg\n")
    out = tmp_path / "v4"
    data = train_data.build(datasets, extra, None, out, tmp_path / "holdout", tmp_path / "none", {},
                            backdrop_hands=rps.parent, hand_closeups=closeups, base_list=base,
                            backdrop_counts=(3, 2))
    config = yaml.safe_load(data.read_text())
    assert config["train"] == [str(base), str(out / "backdrop_hands" / "images" / "train"),
                               str(out / "hand_closeups" / "images" / "train")]
    assert not (out / "composites").exists() and not (out / "wider_train.txt").exists()
    names = sorted(p.name for p in (out / "backdrop_hands" / "images" / "train").iterdir())
    assert sum(n.startswith("backdrophand_") for n in names) == 3 and len(names) <= 5
    assert [p.name for p in (out / "hand_closeups" / "images" / "train").iterdir()] == ["closeupclose_000_Fist_1.jpg"]
    assert all(f.read_text() == "" for f in (out / "hand_closeups" / "labels" / "train").iterdir())
    (tmp_path / "holdout").mkdir()
    (tmp_path / "holdout" / "composite_holdout.yaml").write_text("")
    capsys.readouterr()
    assert train_data.main(["--datasets", str(datasets), "--out", str(out), "--holdout", str(tmp_path / "holdout"),
                            "--base-list", str(base), "--backdrop-hands", str(tmp_path / "empty")]) == 2
    assert "--backdrop-hands" in capsys.readouterr().err
    assert train_data.main(["--datasets", str(datasets), "--out", str(out), "--holdout", str(tmp_path / "holdout"),
                            "--base-list", str(tmp_path / "no_list.txt")]) == 2
    assert "--base-list" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert train_data.main(["--datasets", str(datasets), "--extra", str(extra), "--out", "rel_out",
                            "--holdout", str(tmp_path / "holdout"),
                            "--base-list", "mix.txt", "--hand-closeups", str(closeups)]) == 0
    listed = yaml.safe_load((tmp_path / "rel_out" / "data.yaml").read_text())["train"]
    assert listed == [str(base), str(tmp_path / "rel_out" / "hand_closeups" / "images" / "train")]  # absolute


def test_torso_region_lies_under_a_face_and_holds_no_labelled_face():
    import random
    face = [300.0, 50.0, 380.0, 150.0]                 # 80 px wide, chin at y=150
    region = train_data.torso_region([face], 800, 600, random.Random(0))
    left, top, right, bottom = region
    assert top > face[3] and left < face[0] and right > face[2] and bottom <= 600
    someone_below = [330.0, 250.0, 360.0, 280.0]       # another person's face on that chest: no region there
    assert train_data.torso_region([face, someone_below], 800, 600, random.Random(0)) is None
    assert train_data.torso_region([[10.0, 10.0, 30.0, 30.0]], 800, 600, random.Random(0)) is None  # too small


@pytest.mark.parametrize("flag", ["--sign-hands", "--backdrop-hands", "--hand-closeups"])
def test_an_empty_hand_folder_is_one_line_naming_its_flag(tmp_path, capsys, flag):
    holdout_dir = tmp_path / "holdout"
    holdout_dir.mkdir()
    (holdout_dir / "composite_holdout.yaml").write_text("path: .\n")
    (tmp_path / "empty").mkdir()
    assert train_data.main(["--holdout", str(holdout_dir), "--out", str(tmp_path / "out"),
                            flag, str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no photos in") and f"leave out {flag}" in err and "\n" not in err
    assert not (tmp_path / "out").exists()
