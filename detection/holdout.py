"""Detector validation sets that no past stage was chosen on, and a hands negative set:
`python -m detection.holdout --help`.

Why: every detector stage so far was chosen on WIDER val (200 images) and reported on a composite set
pasted into those same WIDER val scenes, so both figures have become optimistic (issue 19). This command
writes three sets under a git-ignored folder, each fixed by file name so it never moves:

* `wider_setaside`: a fixed fifth of the WIDER subset's *train* images (`is_set_aside`, a hash of the
  file name). Every past stage trained on them, so the shipped detector's figure on them measures fit, not
  generalisation; from now on they are left out of training (`training_images`), so a detector trained
  from scratch without them can be measured and chosen on them honestly. A fine-tune of the shipped
  weights still remembers them: say so beside any figure on this set.
* `composite`: held-out faces pasted into set-aside WIDER train scenes (never WIDER val): All-Age-Faces
  originals (children and older people, real context) and fetched FairFace train images, only faces in the
  classifier's *test* split (`facedata.datasets.split_name`), and no FairFace file of the shared
  7,000-image sample (its held-out faces were pasted into the old composite set, which judged stages),
  no UTKFace (same reason). Four kinds of image: faces in WIDER scenes, and, over face-free rooms (the
  hands frames below: real webcam rooms, checked by eye), webcam-like large faces, dim rooms, and crowds
  of 20-50 faces in a 1920x960 frame (the app tiles frames over 1280 px).
* `negatives_hands`: face-free frames with hands listed in `detection/negatives_hands.txt` (source and
  licence there), copied from the fetched dataset; `python -m detection.evaluate --negatives` counts boxes.

None of these may be used to train; only the set-aside and composite sets may choose stages from now on.
"""
from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.cli import OneLineParser, run_tool
from core.geometry import covered_fraction
from core.images import WEBCAM_FRAME_WH_PX
from core.paths import DATA_CACHE_DIR, DATA_DIR, DATASETS_DIR
from detection.yolo_files import folder_images, read_yolo_boxes, write_yolo_boxes

DEFAULT_DATASETS = DATASETS_DIR
DEFAULT_OUT = DATA_CACHE_DIR / "detector_holdout"
DEFAULT_HANDS_SRC = DATA_DIR / "hands_src" / "images"
HANDS_LIST = Path(__file__).with_name("negatives_hands.txt")
WIDER_SETASIDE_PERCENT = 20          # of the WIDER subset's train images, by a hash of the file name
SETASIDE_KEY = "detector-setaside-v1:"
AAF_CHIP_SIDE_PER_FACE = 1.7         # chip side / face box side for All-Age-Faces: hair and shoulders show
MAX_CHIP_OVERLAP = 0.15              # pasted chips may cover each other this much
MIN_VISIBLE_FRACTION = 0.75          # a pasted face cut by the frame edge more than this is not labelled
CROWD_FRAME_WH_PX = (1920, 960)      # the crowd frame
BACKGROUND_BLUR_SIGMA = (5.0, 9.0)  # training backgrounds cut from WIDER scenes: faces left become blobs
DIM_GAIN_RANGE = (0.12, 0.4)         # brightness multiplier of a dim room
DIM_NOISE_SIGMA_RANGE = (2.0, 7.0)   # sensor noise added after dimming, grey levels
KIND_COUNTS = {"webcam": 100, "dim": 100, "crowd": 30}  # plus one "scene" image per set-aside scene


def is_set_aside(image_name: str) -> bool:
    """True for the fixed fifth of WIDER subset train images kept for validation from issue 19 on."""
    from facedata.datasets import split_of
    return split_of(SETASIDE_KEY + Path(image_name).stem, WIDER_SETASIDE_PERCENT) == "test"


def wider_train_images(wider_root: Path) -> list[Path]:
    return sorted((wider_root / "images" / "train").glob("*.jpg"))


def set_aside_images(wider_root: Path) -> list[Path]:
    return [p for p in wider_train_images(wider_root) if is_set_aside(p.name)]


def training_images(wider_root: Path) -> list[Path]:
    """The WIDER subset train images a detector may still train on: all but the set-aside fifth."""
    return [p for p in wider_train_images(wider_root) if not is_set_aside(p.name)]


def held_out_faces(datasets_root: Path, extra_root: Path) -> list:
    """FaceSamples never seen by a detector evaluation or the classifier's training (see module doc)."""
    return fetched_faces(datasets_root, extra_root, "test")


def fetched_faces(datasets_root: Path, extra_root: Path, split: str) -> list:
    """All-Age-Faces and fetched FairFace train faces in one classifier split ('test' or 'train').

    'test' also drops every FairFace file of the shared 7,000-image sample: its held-out faces were pasted
    into the old composite validation set, which judged stages. Reserved sha1s (byte copies of FairFace
    validation images) and All-Age-Faces duplicates are always dropped."""
    from facedata.datasets import AAF_FOLDER, read_aaf, read_fairface, read_lines, sha1_of_file, split_name
    fairface_root, aaf_root = extra_root / "fairface", extra_root / "aaf"
    if not (fairface_root / "fairface_label_train.csv").is_file() and not (aaf_root / AAF_FOLDER).is_dir():
        raise FileNotFoundError(
            f"no fetched FairFace or All-Age-Faces under {extra_root}: fetch them as "
            f"{datasets_root / 'MORE_DATA.md'} says, or pass --extra to where they are")
    faces = []
    if (fairface_root / "fairface_label_train.csv").is_file():
        shared_csv = datasets_root / "fairface" / "fairface_label_train.csv"
        shared = set()
        if split == "test" and shared_csv.is_file():
            shared = {line.split(",")[0] for line in shared_csv.read_text().splitlines()[1:]}
        reserved = read_lines(datasets_root / "reserved_sha1.txt")
        faces += [s for s in read_fairface(fairface_root, image_dir="fair_face")
                  if split_name(s) == split and s.subject not in shared and sha1_of_file(s.path) not in reserved]
    if (aaf_root / AAF_FOLDER).is_dir():
        duplicates = read_lines(datasets_root / "aaf_duplicate_images.txt")
        faces += [s for s in read_aaf(aaf_root, duplicates) if split_name(s) == split and s.box is not None]
    return faces


def face_chip(sample) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
    """A square chip holding the sample's face, and the face box as fractions of the chip."""
    from detection.composites import CHIP_FACE_BOX
    image = cv2.imread(sample.path)
    if image is None:
        return None
    if sample.box is None:  # FairFace: the whole padded crop, face at the fixed fraction training used
        return cv2.resize(image, (224, 224)) if image.shape[:2] != (224, 224) else image, CHIP_FACE_BOX["fairface"]
    x1, y1, x2, y2 = sample.box
    side = int(round(max(x2 - x1, y2 - y1) * AAF_CHIP_SIDE_PER_FACE))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    h, w = image.shape[:2]
    pad = max(0, -left, -top, left + side - w, top + side - h)
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    chip = padded[top + pad:top + pad + side, left + pad:left + pad + side]
    return chip, ((x1 - left) / side, (y1 - top) / side, (x2 - left) / side, (y2 - top) / side)


def paste_faces(scene: np.ndarray, scene_boxes: list, faces: list, rng: random.Random, spots: list) -> tuple:
    """Paste one random held-out face into each spot (x, y, face_px); returns the image and its boxes.

    Scene faces a chip covers lose their label (composites.COVERED_FRACTION_DROP); a face that would be
    cut by the frame edge (under MIN_VISIBLE_FRACTION in frame) is not pasted."""
    from detection.composites import COVERED_FRACTION_DROP, paste_chip, visible_fraction
    h, w = scene.shape[:2]
    scene = scene.copy()
    placed, new_boxes = [], []
    for x, y, face_px in spots:
        made = face_chip(rng.choice(faces))
        if made is None:
            continue
        chip, (fx1, fy1, fx2, fy2) = made
        size = max(8, int(face_px / (fx2 - fx1)))
        x, y = int(x - (fx1 + fx2) / 2 * size), int(y - (fy1 + fy2) / 2 * size)  # spot = face centre
        square = (x, y, x + size, y + size)
        if any(covered_fraction(square, p) > MAX_CHIP_OVERLAP or covered_fraction(p, square) > MAX_CHIP_OVERLAP
               for p in placed):
            continue
        if visible_fraction((x + fx1 * size, y + fy1 * size, x + fx2 * size, y + fy2 * size), w, h) < MIN_VISIBLE_FRACTION:
            continue  # not pasted at all: half a face would be neither a face to find nor a clean negative
        if rng.random() < 0.5:
            chip, (fx1, fx2) = chip[:, ::-1], (1 - fx2, 1 - fx1)
        box = paste_chip(scene, chip, "aaf", x, y, size, face_box=(fx1, fy1, fx2, fy2))
        if box is None:
            continue
        placed.append(square)
        new_boxes.append(box)
    kept = [b for b in scene_boxes if all(covered_fraction(b, p) < COVERED_FRACTION_DROP for p in placed)]
    return scene, kept + new_boxes


def random_spots(rng: random.Random, width: int, height: int, n: int, face_px_range) -> list:
    lo, hi = face_px_range
    hi = min(hi, 0.8 * min(width, height))
    return [(rng.uniform(0, width), rng.uniform(0, height), np.exp(rng.uniform(np.log(lo), np.log(hi))))
            for _ in range(n)]


def crowd_spots(rng: random.Random, width: int, height: int, n: int) -> list:
    """n faces on a jittered grid, each 30-55 % of its cell wide: a crowd without stacked faces."""
    cols = int(np.ceil(np.sqrt(n * width / height)))
    rows = int(np.ceil(n / cols))
    cell = min(width / cols, height / rows)
    cells = rng.sample([(r, c) for r in range(rows) for c in range(cols)], n)
    spots = []
    for r, c in cells:
        face_px = cell * rng.uniform(0.3, 0.55)  # its chip, 1.6-1.7 face sides, fills half to all the cell
        spots.append(((c + 0.5) * width / cols + rng.uniform(-0.1, 0.1) * cell,
                      (r + 0.5) * height / rows + rng.uniform(-0.1, 0.1) * cell, face_px))
    return spots


def blurred_background(scene: np.ndarray, boxes: list, rng: random.Random, size_wh) -> np.ndarray:
    """An enlarged, strongly blurred half of a scene with its labelled faces painted out (inpainted).

    For training images only: WIDER leaves some faces unlabelled, and inpainting leaves head-shaped blobs,
    so a mild blur left real faces that a validation set would count as false positives (seen in this
    session: 67 "false" boxes on 100 webcam-like images, most on unlabelled faces). BACKGROUND_BLUR_SIGMA
    makes them blobs; held-out images use face-free rooms instead (`room_background`)."""
    h, w = scene.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    for x1, y1, x2, y2 in boxes:
        pad = 0.15 * max(x2 - x1, y2 - y1)
        cv2.rectangle(mask, (int(x1 - pad), int(y1 - pad)), (int(x2 + pad), int(y2 + pad)), 255, -1)
    clean = cv2.inpaint(scene, mask, 5, cv2.INPAINT_TELEA) if mask.any() else scene
    x0, y0, cw, ch = rng.randint(0, w // 3), rng.randint(0, h // 3), w // 2, h // 2
    return cv2.GaussianBlur(cv2.resize(clean[y0:y0 + ch, x0:x0 + cw], size_wh), (0, 0),
                            rng.uniform(*BACKGROUND_BLUR_SIGMA))


def room_background(frames: list[Path], rng: random.Random, size_wh) -> np.ndarray:
    """A random crop (60-100 % of the width) of a face-free frame checked by eye, at size_wh: a real room
    with no face anywhere, so every box off a pasted face is a true false positive."""
    image = cv2.imread(str(rng.choice(frames)))
    h, w = image.shape[:2]
    out_w, out_h = size_wh
    cw = int(w * rng.uniform(0.6, 1.0))
    ch = min(h, int(cw * out_h / out_w))
    cw = int(ch * out_w / out_h)
    x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
    room = cv2.resize(image[y0:y0 + ch, x0:x0 + cw], size_wh)
    sigma = rng.uniform(0, 1.5)
    return cv2.GaussianBlur(room, (0, 0), sigma) if sigma > 0.3 else room


def dim(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """A dim room: darker, flatter and noisier, as an audience under stage light looks to a webcam."""
    noise = np.random.default_rng(rng.randrange(2 ** 32)).normal(0, rng.uniform(*DIM_NOISE_SIGMA_RANGE), image.shape)
    return np.clip(image.astype(np.float32) * rng.uniform(*DIM_GAIN_RANGE) + noise, 0, 255).astype(np.uint8)


def write_yaml(path: Path, images: Path, comment: str) -> None:
    path.write_text(f"# {comment}\nval: {images}\nnc: 1\nnames: [face]\n")


def build_wider_setaside(wider: Path, out: Path) -> Path:
    images, labels = out / "wider_setaside" / "images" / "val", out / "wider_setaside" / "labels" / "val"
    for folder in (images, labels):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for path in set_aside_images(wider):
        shutil.copyfile(path, images / path.name)
        label = wider / "labels" / "train" / f"{path.stem}.txt"
        if label.is_file():
            shutil.copyfile(label, labels / label.name)
    yaml_path = out / "wider_setaside.yaml"
    write_yaml(yaml_path, images, f"WIDER subset train images set aside from issue 19 on "
                                  f"({WIDER_SETASIDE_PERCENT}% by file-name hash; seen by every stage up to then)")
    return yaml_path


def wider_scene(wider: Path, scene_path: Path) -> tuple[np.ndarray, list]:
    """A WIDER train image and its labelled face boxes in pixels (x1, y1, x2, y2)."""
    scene = cv2.imread(str(scene_path))
    h, w = scene.shape[:2]
    return scene, read_yolo_boxes(wider / "labels" / "train" / f"{scene_path.stem}.txt", w, h).tolist()


def write_composites(wider: Path, scenes: list[Path], faces: list, images: Path, labels: Path, seed: int,
                     counts: dict[str, int], rooms: list[Path] | None = None) -> int:
    """One "scene" image per WIDER train scene plus counts[kind] webcam/dim/crowd images; returns how many.

    rooms: face-free frames for the webcam/dim/crowd backgrounds; None cuts them from the scenes
    (`blurred_background`)."""
    for folder in (images, labels):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    if not scenes or not faces:
        raise FileNotFoundError(f"need WIDER train scenes ({len(scenes)}) and faces ({len(faces)}): "
                                f"check --datasets and --extra")
    jobs = [("scene", k, s) for k, s in enumerate(scenes)]
    for kind, n in counts.items():
        kind_rng = random.Random(f"{seed}:{kind}:scenes")
        jobs += [(kind, k, kind_rng.choice(scenes)) for k in range(n)]
    for kind, k, scene_path in tqdm(jobs, desc=f"composites {images.parent.parent.name}", unit="img", mininterval=5):
        rng = random.Random(f"{seed}:{kind}:{k}")  # one stream per image: a change to one kind moves no other
        scene, boxes = wider_scene(wider, scene_path)
        h, w = scene.shape[:2]
        if kind == "scene":
            image, boxes = paste_faces(scene, boxes, faces, rng, random_spots(rng, w, h, rng.randint(1, 6), (16, 320)))
        elif kind == "crowd":
            bg = room_background(rooms, rng, CROWD_FRAME_WH_PX) if rooms else \
                blurred_background(scene, boxes, rng, CROWD_FRAME_WH_PX)
            image, boxes = paste_faces(bg, [], faces, rng, crowd_spots(rng, *CROWD_FRAME_WH_PX, rng.randint(20, 50)))
        else:  # webcam, dim: one to three (webcam) or two to eight (dim audience) faces over a blurred room
            bg = room_background(rooms, rng, WEBCAM_FRAME_WH_PX) if rooms else \
                blurred_background(scene, boxes, rng, WEBCAM_FRAME_WH_PX)
            n, size_range = ((rng.randint(1, 3), (60, 400)) if kind == "webcam" else (rng.randint(2, 8), (24, 160)))
            image, boxes = paste_faces(bg, [], faces, rng, random_spots(rng, *WEBCAM_FRAME_WH_PX, n, size_range))
            if kind == "dim":
                image = dim(image, rng)
        name = f"{kind}_{k:03d}_{scene_path.stem}"
        cv2.imwrite(str(images / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        write_yolo_boxes(labels / f"{name}.txt", boxes, image.shape[1], image.shape[0])
    return len(jobs)


def build_composites(wider: Path, faces: list, out: Path, seed: int, counts: dict[str, int],
                     rooms: list[Path]) -> Path:
    """Held-out composites: "scene" images in set-aside WIDER scenes (their labels kept, as WIDER's own
    protocol), the other kinds over face-free rooms (`rooms`, the hands negative frames)."""
    write_composites(wider, set_aside_images(wider), faces, out / "composite" / "images" / "val",
                     out / "composite" / "labels" / "val", seed, counts, rooms)
    yaml_path = out / "composite_holdout.yaml"
    write_yaml(yaml_path, out / "composite" / "images" / "val",
               "held-out classifier-test faces (All-Age-Faces, fetched FairFace) pasted into set-aside WIDER "
               "train scenes (scene) and face-free rooms (webcam, dim, crowd)")
    return yaml_path


def hands_names(list_path: Path | None = None) -> list[str]:
    list_path = list_path or HANDS_LIST
    return [line.strip() for line in list_path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def build_hands(hands_src: Path, out: Path, list_path: Path | None = None) -> Path:
    list_path = list_path or HANDS_LIST
    names = hands_names(list_path)
    missing = [n for n in names if not (hands_src / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of {len(names)} hands frames are not in {hands_src} (first: "
                                f"{missing[0]}): fetch and extract them as {list_path} says, or pass --hands-src")
    folder = out / "negatives_hands"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in names:
        shutil.copyfile(hands_src / name, folder / name)
    return folder


def main(argv=None) -> int:
    from core.paths import EXTRA_DATA_DIR
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    p.add_argument("--extra", type=Path, default=EXTRA_DATA_DIR,
                   help="fetched FairFace/All-Age-Faces (../shared/datasets/MORE_DATA.md)")
    p.add_argument("--hands-src", type=Path, default=DEFAULT_HANDS_SRC, help="extracted HandsDataset images/")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (keep it git-ignored)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    wider = args.datasets / "wider_face_subset"
    if not (wider / "images" / "train").is_dir():
        print(f"error: no WIDER subset at {wider}; pass --datasets", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        print(build_wider_setaside(wider, args.out), f"({len(set_aside_images(wider))} images)")
        faces = held_out_faces(args.datasets, args.extra)
        print(f"{len(faces)} held-out faces:",
              {src: sum(f.source == src for f in faces) for src in sorted({f.source for f in faces})})
        rooms = build_hands(args.hands_src, args.out)
        print(rooms, f"({len(hands_names())} images)")
        print(build_composites(wider, faces, args.out, args.seed, KIND_COUNTS, folder_images(rooms)))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
