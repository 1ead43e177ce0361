"""Build the detector's extra training data: real face chips pasted, with exact boxes, into real scenes.

Why: the WIDER subset has 1,000 training images whose faces are mostly tiny (median 9 px), while the app
sees one to ten faces of 40-400 px. FairFace and UTKFace chips are aligned crops whose face position is
known by construction (dlib chips: the face box is a fixed central fraction of the chip), so pasting them
into WIDER scenes at webcam sizes yields faces of every size with boxes we can justify:

* chips are blended through a feathered ellipse, so there is no square edge for the detector to learn;
* a WIDER face that a pasted chip covers loses its label (it is no longer visible);
* a second kind of image imitates a webcam: one to three large faces over a blurred, enlarged scene.
"""
from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.cli import OneLineParser, number_in, run_tool
from core.errors import SourceError
from core.geometry import covered_fraction
from core.images import WEBCAM_FRAME_WH_PX
from core.paths import DATASETS_DIR, DETECTOR_COMPOSITES_DIR
from detection.yolo_files import read_yolo_boxes, write_yolo_boxes

# Face box inside each chip kind, as fractions (x1, y1, x2, y2) of the chip; forehead to chin, ear to ear.
CHIP_FACE_BOX = {
    "fairface": (0.18, 0.12, 0.82, 0.86),
    "utkface": (0.12, 0.06, 0.88, 0.92),
}
COVERED_FRACTION_DROP = 0.4  # a WIDER face this much under a pasted chip is no longer labelled


def feathered_ellipse(size_px: int) -> np.ndarray:
    """An alpha mask (size x size, 0..1): an ellipse covering head and hair, with soft edges."""
    mask = np.zeros((size_px, size_px), np.float32)
    centre = (size_px // 2, int(size_px * 0.52))
    cv2.ellipse(mask, centre, (int(size_px * 0.42), int(size_px * 0.48)), 0, 0, 360, 1.0, -1)
    k = max(3, (size_px // 10) | 1)
    return cv2.GaussianBlur(mask, (k, k), 0)[:, :, None]


def blend(scene: np.ndarray, patch: np.ndarray, alpha: np.ndarray, x: int, y: int) -> bool:
    """Alpha-blend `patch` (alpha: its 0..1 mask, HxW or HxWx1) into scene with its corner at (x, y), in
    place, clipped at the frame's edges; False when none of it lands in the frame."""
    h, w = scene.shape[:2]
    ph, pw = patch.shape[:2]
    sx1, sy1, sx2, sy2 = max(x, 0), max(y, 0), min(x + pw, w), min(y + ph, h)
    if sx2 <= sx1 or sy2 <= sy1:
        return False
    cx1, cy1 = sx1 - x, sy1 - y
    alpha = alpha.reshape(ph, pw, 1)
    region = scene[sy1:sy2, sx1:sx2].astype(np.float32)
    a = alpha[cy1:cy1 + sy2 - sy1, cx1:cx1 + sx2 - sx1]
    c = patch[cy1:cy1 + sy2 - sy1, cx1:cx1 + sx2 - sx1].astype(np.float32)
    scene[sy1:sy2, sx1:sx2] = (a * c + (1 - a) * region).astype(np.uint8)
    return True


def paste_chip(scene: np.ndarray, chip: np.ndarray, kind: str, x: int, y: int, size_px: int,
               face_box: tuple[float, float, float, float] | None = None):
    """Blend `chip` (resized to size_px) into scene at (x, y); returns the face box in scene pixels.

    face_box: the face as fractions of the chip, for chips cut around a known box (All-Age-Faces);
    None uses the fixed fraction of the chip kind (CHIP_FACE_BOX)."""
    chip = cv2.resize(chip, (size_px, size_px), interpolation=cv2.INTER_AREA)
    if not blend(scene, chip, feathered_ellipse(size_px), x, y):
        return None
    fx1, fy1, fx2, fy2 = face_box or CHIP_FACE_BOX[kind]
    return [x + fx1 * size_px, y + fy1 * size_px, x + fx2 * size_px, y + fy2 * size_px]


def visible_fraction(box, width: int, height: int) -> float:
    """Share of `box` inside a width x height image."""
    return covered_fraction(box, (0, 0, width, height))


def compose(scene, scene_boxes, chips, rng: random.Random, face_px_range, n_faces: int):
    """Paste n_faces random chips into scene; returns the new image and its boxes."""
    h, w = scene.shape[:2]
    scene = scene.copy()
    placed, new_boxes = [], []
    for _ in range(n_faces):
        kind, path = rng.choice(chips)
        chip = cv2.imread(str(path))
        if chip is None:
            continue
        lo, hi = face_px_range
        face_px = int(np.exp(rng.uniform(np.log(lo), np.log(min(hi, 0.9 * min(h, w))))))
        fx1, _, fx2, _ = CHIP_FACE_BOX[kind]
        size = max(8, int(face_px / (fx2 - fx1)))
        for _attempt in range(10):
            x = rng.randint(-size // 4, max(-size // 4 + 1, w - 3 * size // 4))
            y = rng.randint(-size // 4, max(-size // 4 + 1, h - 3 * size // 4))
            square = (x, y, x + size, y + size)
            if all(covered_fraction(square, p) < 0.15 and covered_fraction(p, square) < 0.15 for p in placed):
                break
        else:
            continue
        if rng.random() < 0.5:
            chip = chip[:, ::-1]
        chip = np.clip(chip.astype(np.float32) * rng.uniform(0.7, 1.25), 0, 255).astype(np.uint8)
        box = paste_chip(scene, chip, kind, x, y, size)
        if box is None or visible_fraction(box, w, h) < 0.6:
            continue
        placed.append(square)
        new_boxes.append(box)
    kept = [b for b in scene_boxes if all(covered_fraction(b, p) < COVERED_FRACTION_DROP for p in placed)]
    return scene, kept + new_boxes


def list_chips(datasets: Path, split: str) -> list[tuple[str, Path]]:
    """Chips from the classifier's training split only, so its held-out faces stay unseen."""
    from facedata.datasets import read_fairface, read_utkface, split_name
    chips = []
    for sample in read_fairface(datasets / "fairface") + read_utkface(datasets / "utkface"):
        if (split_name(sample) == "train") == (split == "train"):
            chips.append((sample.source, Path(sample.path)))
    return chips


def check_datasets(datasets: Path) -> None:
    """SourceError naming each dataset `build` reads that is missing under `datasets`, before anything is written.

    Why: without ../shared/datasets, `python -m detection.composites` and a first `python -m detection.train`
    ended in a FileNotFoundError traceback on fairface_label_train.csv that said neither which folder was
    expected nor how to get it.
    """
    needed = {"wider_face_subset/images/train": datasets / "wider_face_subset" / "images" / "train",
              "fairface/fairface_label_train.csv": datasets / "fairface" / "fairface_label_train.csv",
              "utkface": datasets / "utkface"}
    missing = [name for name, path in needed.items() if not path.exists()]
    if missing:
        raise SourceError(f"no {', '.join(missing)} in the datasets folder {datasets}: fetch them as "
                          f"../shared/datasets/README.md says, or pass `python -m detection.composites --datasets "
                          f"FOLDER` (detection.train: --data with a data.yaml of your own)")


def build(datasets: Path, out: Path, seed: int = 0, per_scene: int = 1, webcam_like: int = 400) -> Path:
    """Write composites for train (from WIDER train scenes) and a composite validation set; returns data.yaml."""
    check_datasets(datasets)
    wider = datasets / "wider_face_subset"
    for split, scenes_split, n_webcam in (("train", "train", webcam_like), ("val", "val", webcam_like // 4)):
        rng = random.Random(f"{seed}:{split}")
        chips = list_chips(datasets, split)
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        scenes = sorted((wider / "images" / scenes_split).glob("*.jpg"))
        jobs = [(s, k, "mix") for s in scenes for k in range(per_scene)] + \
               [(rng.choice(scenes), k, "webcam") for k in range(n_webcam)]
        for scene_path, k, kind in tqdm(jobs, desc=f"composites {split}", unit="img"):
            scene = cv2.imread(str(scene_path))
            if scene is None:
                continue
            h, w = scene.shape[:2]
            boxes = read_yolo_boxes(wider / "labels" / scenes_split / (scene_path.stem + ".txt"), w, h).tolist()
            if kind == "mix":
                image, boxes = compose(scene, boxes, chips, rng, (16, 320), rng.randint(1, 6))
            else:  # webcam-like: blurred enlarged background (its faces stay labelled), 1-3 big faces
                x0, y0, cw, ch = rng.randint(0, w // 3), rng.randint(0, h // 3), w // 2, h // 2
                bg = cv2.GaussianBlur(cv2.resize(scene[y0:y0 + ch, x0:x0 + cw], WEBCAM_FRAME_WH_PX), (0, 0),
                                      rng.uniform(1, 5))
                frame_w, frame_h = WEBCAM_FRAME_WH_PX
                sx, sy = frame_w / cw, frame_h / ch
                moved = [[(b[0] - x0) * sx, (b[1] - y0) * sy, (b[2] - x0) * sx, (b[3] - y0) * sy] for b in boxes]
                moved = [b for b in moved if visible_fraction(b, frame_w, frame_h) >= 0.6]
                image, boxes = compose(bg, moved, chips, rng, (60, 400), rng.randint(1, 3))
            if rng.random() < 0.05:
                image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            name = f"{kind}_{k}_{scene_path.stem}"
            cv2.imwrite(str(out / "images" / split / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            write_yolo_boxes(out / "labels" / split / f"{name}.txt", boxes, image.shape[1], image.shape[0])
    yaml_path = out / "data.yaml"
    yaml_path.write_text(
        "# WIDER subset + face-chip composites (detection/composites.py); val = WIDER val 200\n"
        f"train: [{wider / 'images' / 'train'}, {out / 'images' / 'train'}]\n"
        f"val: {wider / 'images' / 'val'}\n"
        "nc: 1\nnames: [face]\n")
    (out / "composite_val.yaml").write_text(
        f"# composite validation set (WIDER val scenes + held-out chips)\ntrain: {out / 'images' / 'val'}\n"
        f"val: {out / 'images' / 'val'}\nnc: 1\nnames: [face]\n")
    return yaml_path


def main(argv=None) -> int:
    p = OneLineParser(description="Build detector composites from WIDER scenes and face chips.")
    p.add_argument("--datasets", default=str(DATASETS_DIR))
    p.add_argument("--out", default=str(DETECTOR_COMPOSITES_DIR))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--webcam-like", type=number_in(0, 1_000_000, int), default=400)
    args = p.parse_args(argv)
    print(build(Path(args.datasets), Path(args.out), args.seed, webcam_like=args.webcam_like))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
