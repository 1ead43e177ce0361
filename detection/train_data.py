"""Training data for the next detector stage (issue 19): `python -m detection.train_data --help`.

Writes, under a git-ignored folder, a data.yaml that ultralytics and `detection.pack_data` read:

* `wider_train.txt`: the WIDER subset train images minus the set-aside fifth (`detection.holdout`);
* `old_composites.txt`: the composites of `python -m detection.composites` whose scene is not set aside,
  when that folder exists (a composite of a set-aside scene would leak the scene into training);
* `composites/`: new composites from the classifier's *train* split of the fetched faces (All-Age-Faces:
  children, older people, real context; FairFace), pasted into the remaining WIDER train scenes, plus
  webcam-like, dim-room and 20-50-face crowd images (the same generator as the held-out set, other faces,
  other scenes, another seed);
* `negatives/`: hard negatives, images with an empty label file (ultralytics trains them as background):
  face-free room textures (WIDER train scenes with every labelled face painted out, enlarged and blurred
  hard), and, only with `--hand-crops`, the annotated hand boxes of the HandsDataset frames that are NOT
  in the evaluation list (`detection/negatives_hands.txt`).

Validation (`val:`) is the set-aside WIDER images and the held-out composites, never WIDER val.
Why hand crops are opt-in: most HandsDataset frames also show the person's face, right beside the hand.
Square crops around the hand boxes with a quarter-box margin showed a face in about a third of a 100-crop
sample, and even square crops of the bare box showed an eye or glasses at the edge in about one in ten
(checked by eye in issue 19), and a cut face taught as background would fight the cut faces WIDER labels.
So `--hand-crops` cuts exactly the annotated box (not a square) and writes `hand_crops_sheet.jpg`: look
at it, and at more, before training on them. A face-free hands source for training is still wanted.
"""
from __future__ import annotations

import argparse
import random
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.label_files import read_yolo_boxes
from detection import holdout
from runtime import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "data_cache" / "detector_v2"
DEFAULT_OLD_COMPOSITES = REPO_ROOT / "data_cache" / "detector" / "images" / "train"
TRAIN_SEED = 1                     # the held-out set uses seed 0
TRAIN_KIND_COUNTS = {"webcam": 800, "dim": 600, "crowd": 200}
MIN_HAND_CROP_PX = 48
TEXTURE_NEGATIVES = 300


def hand_boxes(xml_path: Path) -> list[tuple[int, int, int, int]]:
    """Pascal-VOC boxes of one HandsDataset annotation file."""
    try:
        root = ET.parse(xml_path).getroot()
    except (ET.ParseError, OSError):
        return []
    boxes = []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        if bb is not None:
            boxes.append(tuple(int(float(bb.findtext(k, "0"))) for k in ("xmin", "ymin", "xmax", "ymax")))
    return boxes


def hand_crops(hands_src: Path, evaluation_names: set[str]) -> list[tuple[str, np.ndarray]]:
    """The annotated hand boxes, cut exactly (no margin, not squared), of frames the evaluation does not use."""
    crops = []
    for xml_path in sorted(hands_src.glob("*.xml")):
        image_path = xml_path.with_suffix(".jpg")
        if image_path.name in evaluation_names or not image_path.is_file():
            continue
        boxes = hand_boxes(xml_path)
        image = cv2.imread(str(image_path)) if boxes else None
        if image is None:
            continue
        h, w = image.shape[:2]
        for k, (x1, y1, x2, y2) in enumerate(boxes):
            left, top, right, bottom = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
            if min(right - left, bottom - top) >= MIN_HAND_CROP_PX:
                crops.append((f"hand_{image_path.stem}_{k}", image[top:bottom, left:right]))
    return crops


def write_negatives(crops: list, textures: list, out: Path) -> int:
    images, labels = out / "negatives" / "images" / "train", out / "negatives" / "labels" / "train"
    for folder in (images, labels):
        folder.mkdir(parents=True, exist_ok=True)
    for name, image in crops + textures:
        cv2.imwrite(str(images / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        (labels / f"{name}.txt").write_text("")  # empty: a background image
    return len(crops) + len(textures)


def texture_negatives(wider: Path, scenes: list[Path], n: int, seed: int) -> list:
    rng = random.Random(f"{seed}:textures")
    textures = []
    for k in range(n):
        scene_path = rng.choice(scenes)
        scene = cv2.imread(str(scene_path))
        h, w = scene.shape[:2]
        boxes = read_yolo_boxes(wider / "labels" / "train" / f"{scene_path.stem}.txt", w, h).tolist()
        textures.append((f"texture_{k:03d}_{scene_path.stem}",
                         holdout.blurred_background(scene, boxes, rng, holdout.WEBCAM_FRAME_WH_PX)))
    return textures


def contact_sheet(crops: list, path: Path, n: int = 100, seed: int = 0) -> None:
    """A 10x10 sheet of random hand crops, to check by eye that none shows a face."""
    sample = random.Random(seed).sample(crops, min(n, len(crops)))
    tiles = [cv2.resize(image, (128, 128)) for _, image in sample]
    tiles += [np.zeros((128, 128, 3), np.uint8)] * (-len(tiles) % 10)
    cv2.imwrite(str(path), np.vstack([np.hstack(tiles[r:r + 10]) for r in range(0, len(tiles), 10)]))


def build(datasets: Path, extra: Path, hands_src: Path | None, out: Path, holdout_out: Path,
          old_composites: Path, counts: dict[str, int], textures: int = TEXTURE_NEGATIVES) -> Path:
    wider = datasets / "wider_face_subset"
    out.mkdir(parents=True, exist_ok=True)
    scenes = holdout.training_images(wider)
    (out / "wider_train.txt").write_text("".join(f"{p}\n" for p in scenes))
    train = [str(out / "wider_train.txt")]
    if old_composites.is_dir():
        kept = [p for p in sorted(old_composites.glob("*.jpg"))
                if not holdout.is_set_aside(p.stem.split("_", 2)[-1])]  # names are <kind>_<k>_<scene stem>
        (out / "old_composites.txt").write_text("".join(f"{p}\n" for p in kept))
        train.append(str(out / "old_composites.txt"))
    faces = holdout.fetched_faces(datasets, extra, "train")
    holdout.write_composites(wider, scenes, faces, out / "composites" / "images" / "train",
                             out / "composites" / "labels" / "train", TRAIN_SEED, counts)
    train.append(str(out / "composites" / "images" / "train"))
    crops = hand_crops(hands_src, set(holdout.hands_names())) if hands_src else []
    if crops:
        contact_sheet(crops, out / "hand_crops_sheet.jpg")
    write_negatives(crops, texture_negatives(wider, scenes, textures, TRAIN_SEED), out)
    train.append(str(out / "negatives" / "images" / "train"))
    val = [str(holdout_out / "wider_setaside" / "images" / "val"), str(holdout_out / "composite" / "images" / "val")]
    yaml_path = out / "data.yaml"
    yaml_path.write_text("# detector training data after issue 19 (detection/train_data.py); val: sets no stage "
                         "was chosen on (detection/holdout.py)\n"
                         f"train: [{', '.join(train)}]\nval: [{', '.join(val)}]\nnc: 1\nnames: [face]\n")
    return yaml_path


def main(argv=None) -> int:
    from core.paths import EXTRA_DATA_DIR
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", type=Path, default=holdout.DEFAULT_DATASETS)
    p.add_argument("--extra", type=Path, default=EXTRA_DATA_DIR)
    p.add_argument("--hand-crops", action="store_true",
                   help="add the annotated hand boxes of HandsDataset frames outside the evaluation list as "
                        "negatives (check hand_crops_sheet.jpg by eye: faces can sit at a box's edge)")
    p.add_argument("--hands-src", type=Path, default=holdout.DEFAULT_HANDS_SRC,
                   help="extracted HandsDataset images/ with its .xml files (for --hand-crops)")
    p.add_argument("--holdout", type=Path, default=holdout.DEFAULT_OUT, help="where detection.holdout wrote")
    p.add_argument("--old-composites", type=Path, default=DEFAULT_OLD_COMPOSITES)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (keep it git-ignored)")
    args = p.parse_args(argv)
    if not (args.holdout / "composite_holdout.yaml").is_file():
        print(f"error: no held-out sets in {args.holdout}: run `python -m detection.holdout` first", file=sys.stderr)
        return 2
    hands = args.hands_src if args.hand_crops else None
    if hands is not None and not any(hands.glob("*.xml")):
        print(f"error: no HandsDataset annotations in {hands}: extract them as detection/negatives_hands.txt "
              f"says, or leave out --hand-crops", file=sys.stderr)
        return 2
    try:
        print(build(args.datasets, args.extra, hands, args.out, args.holdout, args.old_composites, TRAIN_KIND_COUNTS))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
