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
  hard); with `--sign-hands`, hands of many people from a second, face-free source (the Sign Language
  Digits Dataset: 2,062 photos of 218 students' hands against a wall, Apache-2.0), pasted into those
  rooms, half of them beside labelled faces, as frame-filling close-ups like a fist raised to a
  webcam, and over people's chests with the head out of frame (WIDER scenes cut below a face); and, only with `--hand-crops`, the annotated hand boxes of the HandsDataset frames that are NOT
  in the evaluation list (`detection/negatives_hands.txt`);
  with `--backdrop-hands`, hand photos on a green screen (the rock-paper-scissors set: fists, palms, V
  signs), keyed out by colour and pasted into rooms and over torsos like the sign hands; with
  `--hand-closeups`, close-up hand photos on household surfaces, whole photos as frames (as many draws
  as photos, with replacement). `--base-list` adds only these hand folders to a train list made before.

Validation (`val:`) is the set-aside WIDER images and the held-out composites, never WIDER val.
Why hand crops are opt-in: most HandsDataset frames also show the person's face, right beside the hand.
Square crops around the hand boxes with a quarter-box margin showed a face in about a third of a 100-crop
sample, and even square crops of the bare box showed an eye or glasses at the edge in about one in ten
(checked by eye in issue 19), and a cut face taught as background would fight the cut faces WIDER labels.
So `--hand-crops` cuts exactly the annotated box (not a square) and writes `hand_crops_sheet.jpg`: look
at it, and at more, before training on them. They also show the same person and rooms as the hands
evaluation frames, so a hands figure after training on them is optimistic; `--sign-hands` is the
face-free source from other people that keeps the hands evaluation honest (`sign_hands_sheet.jpg`).
"""
from __future__ import annotations

import random
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.cli import OneLineParser, run_tool
from core.geometry import intersection_area
from core.images import WEBCAM_FRAME_WH_PX
from core.paths import DATA_CACHE_DIR, DETECTOR_COMPOSITES_DIR
from detection import holdout
from detection.yolo_files import folder_images, write_yolo_boxes

DEFAULT_OUT = DATA_CACHE_DIR / "detector_v2"
DEFAULT_OLD_COMPOSITES = DETECTOR_COMPOSITES_DIR / "images" / "train"
TRAIN_SEED = 1                     # the held-out set uses seed 0
TRAIN_KIND_COUNTS = {"webcam": 800, "dim": 600, "crowd": 200}
MIN_HAND_CROP_PX = 48
TEXTURE_NEGATIVES = 300
SIGN_HAND_SCENES = 600             # rooms with pasted hands; every second one also holds labelled faces
SIGN_HAND_CLOSEUPS = 300           # a hand photo filling the frame, as a fist raised close to a webcam
SIGN_HAND_TORSOS = 300             # hands over a person's chest with the head out of frame
TORSO_TRIES_PER_IMAGE = 20         # random scenes tried per torso image wanted
TORSO_MIN_FACE_PX = 48             # a labelled WIDER face at least this wide has a body below it worth cutting
TORSO_HAND_PX_RANGE = (120, 300)   # hand photo side over a torso filling a 640x480 frame: webcam distance
SIGN_HAND_PX_RANGE = (60, 360)     # pasted hand photo side in a 640x480 room
SIGN_FACE_PX_RANGE = (60, 300)     # faces pasted beside the hands
HAND_CHROMA_MIN = 12.0             # Lab chroma above which a pixel is skin, not the pale wall behind it
HAND_DARK_FRACTION = 0.6           # or this much darker than the wall (shadowed fingers, dark skin)
BACKDROP_MIN_DISTANCE = 40.0       # Lab distance (OpenCV's 8-bit scale) from a green screen's colour to count as hand
BACKDROP_SHRINK_PX = 3            # the keyed mask is shrunk this much: green spill and shadow rim the hand
BACKDROP_HAND_SCENES = 300         # rooms with pasted backdrop-keyed hands (rock-paper-scissors fists, palms, V signs)
BACKDROP_HAND_TORSOS = 200         # the same hands over a person's chest, head out of frame
CLOSEUP_FRAME_PX = (240, 320, 480) # side of a frame-filling close-up hand photo


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


def blurred_room(wider: Path, scenes: list[Path], rng: random.Random) -> tuple[Path, np.ndarray]:
    """A random WIDER train scene and a webcam-sized, face-free, hard-blurred room cut from it."""
    scene_path = rng.choice(scenes)
    scene, boxes = holdout.wider_scene(wider, scene_path)
    return scene_path, holdout.blurred_background(scene, boxes, rng, WEBCAM_FRAME_WH_PX)


def texture_negatives(wider: Path, scenes: list[Path], n: int, seed: int) -> list:
    rng = random.Random(f"{seed}:textures")
    textures = []
    for k in range(n):
        scene_path, room = blurred_room(wider, scenes, rng)
        textures.append((f"texture_{k:03d}_{scene_path.stem}", room))
    return textures


def hand_alpha(photo: np.ndarray) -> np.ndarray:
    """A soft 0..1 mask of the hand in a Sign Language Digits photo (a hand against a pale, grey wall).

    The wall is bright and colourless, skin is not: a pixel belongs to the hand where its chroma (Lab) is
    over HAND_CHROMA_MIN or it is much darker than the wall (the median of the photo's border); the largest
    connected part is kept. Pasting the hand alone, not the photo's pale square, keeps the detector from
    learning that "a pale patch" is the negative instead of the hand's shape."""
    lab = cv2.cvtColor(photo, cv2.COLOR_BGR2LAB).astype(np.float32)
    border = _border_pixels(lab)
    wall_lightness = float(np.median(border[:, 0]))
    chroma = np.hypot(lab[..., 1] - 128, lab[..., 2] - 128)
    mask = ((chroma > HAND_CHROMA_MIN) | (lab[..., 0] < HAND_DARK_FRACTION * wall_lightness)).astype(np.uint8)
    return _largest_part_soft(mask)


def backdrop_alpha(photo: np.ndarray) -> np.ndarray:
    """A soft 0..1 mask of the hand in a photo against a plain coloured backdrop (a green screen).

    The backdrop is the median colour of the photo's border; a pixel is hand where its Lab colour lies
    over BACKDROP_MIN_DISTANCE from it. `hand_alpha`'s chroma rule cannot serve here: a green screen is
    the most chromatic thing in the photo. An arm that enters through the border keeps its straight cut."""
    lab = cv2.cvtColor(photo, cv2.COLOR_BGR2LAB).astype(np.float32)
    border = _border_pixels(lab)
    distance = np.linalg.norm(lab - np.median(border, axis=0), axis=-1)
    return _largest_part_soft((distance > BACKDROP_MIN_DISTANCE).astype(np.uint8), shrink_px=BACKDROP_SHRINK_PX)


def _border_pixels(image: np.ndarray) -> np.ndarray:
    """The pixels of an image's outer 4-pixel frame, N x channels: what stands behind a photo's subject."""
    return np.concatenate([image[:4].reshape(-1, 3), image[-4:].reshape(-1, 3),
                           image[:, :4].reshape(-1, 3), image[:, -4:].reshape(-1, 3)])


def _largest_part_soft(mask: np.ndarray, shrink_px: int = 0) -> np.ndarray:
    """The largest connected part of a 0/1 mask after removing specks and pinholes, shrunk by `shrink_px`
    and softened at its edge."""
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if n > 1:
        mask = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    if shrink_px:
        mask = cv2.erode(mask, np.ones((2 * shrink_px + 1,) * 2, np.uint8))
    return cv2.GaussianBlur(mask.astype(np.float32), (5, 5), 0)


def paste_hand(scene: np.ndarray, photo: np.ndarray, x: int, y: int, side_px: int, alpha=hand_alpha) -> None:
    """Blend the hand of `photo` into scene at (x, y), in place, clipped; the photo is resized so that its
    longer side is side_px (a square photo fills a side_px square). `alpha`: the photo's hand mask."""
    from detection.composites import blend
    h, w = photo.shape[:2]
    size = (side_px, max(1, round(side_px * h / w))) if w >= h else (max(1, round(side_px * w / h)), side_px)
    blend(scene, cv2.resize(photo, size, interpolation=cv2.INTER_AREA), cv2.resize(alpha(photo), size), x, y)


def torso_region(boxes: list, width: int, height: int, rng: random.Random) -> tuple[int, int, int, int] | None:
    """Chest and shoulders under a large labelled face, from just below the chin: a region that holds no
    labelled face at all (in a crowd the faces below someone's chin belong to others), or None."""
    big = [b for b in boxes if b[2] - b[0] >= TORSO_MIN_FACE_PX]
    rng.shuffle(big)
    for x1, y1, x2, y2 in big:
        face_w, face_h, cx = x2 - x1, y2 - y1, (x1 + x2) / 2
        region = (int(max(0, cx - 1.6 * face_w)), int(y2 + 0.35 * face_h),
                  int(min(width, cx + 1.6 * face_w)), int(min(height, y2 + 3.0 * face_h)))
        if region[2] - region[0] >= 2 * face_w and region[3] - region[1] >= 1.5 * face_h \
                and not any(intersection_area(region, b) > 0 for b in boxes):
            return region
    return None


def hand_torsos(photos: list[Path], wider: Path, scenes: list[Path], seed: int, n: int = SIGN_HAND_TORSOS,
                alpha=hand_alpha, prefix: str = "sign") -> list:
    """(name, image, []): 1-2 hands over a WIDER person's torso cut to fill a webcam frame, head out of
    frame: the issue-19 phantoms were a V-sign hand in front of a shirt and a collar at the top edge.
    `alpha` masks the hand in a photo; `prefix` names the images and seeds their draw."""
    rng = random.Random(f"{seed}:{prefix}-torsos")
    made = []
    for k in range(n * TORSO_TRIES_PER_IMAGE):  # most WIDER subset faces are small: about 1 scene in 8 has a torso
        if len(made) == n:
            break
        scene_path = rng.choice(scenes)
        scene, boxes = holdout.wider_scene(wider, scene_path)
        region = torso_region(boxes, scene.shape[1], scene.shape[0], rng)
        if region is None:
            continue
        left, top, right, bottom = region
        image = cv2.resize(scene[top:bottom, left:right], WEBCAM_FRAME_WH_PX)
        fw, fh = WEBCAM_FRAME_WH_PX
        for _ in range(rng.randint(1, 2)):
            hand = cv2.imread(str(rng.choice(photos)))
            if hand is not None:
                side = int(np.exp(rng.uniform(*np.log(TORSO_HAND_PX_RANGE))))
                paste_hand(image, hand, rng.randint(-side // 4, fw - 3 * side // 4),
                           rng.randint(fh // 4, fh - side // 2), side, alpha)
        made.append((f"{prefix}torso_{k:03d}_{scene_path.stem}", image, []))
    return made


def hand_images(photos: list[Path], wider: Path, scenes: list[Path], faces: list, seed: int,
                n_scenes: int = SIGN_HAND_SCENES, n_closeups: int = SIGN_HAND_CLOSEUPS,
                alpha=hand_alpha, prefix: str = "sign") -> list:
    """(name, image, face boxes): 1-3 hand photos pasted into blurred rooms (every second room also gets
    1-2 labelled faces, which the hands never cover), and frame-filling close-ups with no face at all
    (the whole photo, resized square). `alpha` masks the hand in a photo; `prefix` names the images and
    seeds their draw."""
    rng = random.Random(f"{seed}:{prefix}-hands")
    made = []
    for k in range(n_scenes):
        scene_path, image = blurred_room(wider, scenes, rng)
        face_boxes = []
        if k % 2 and faces:
            spots = holdout.random_spots(rng, *WEBCAM_FRAME_WH_PX, rng.randint(1, 2), SIGN_FACE_PX_RANGE)
            image, face_boxes = holdout.paste_faces(image, [], faces, rng, spots)
        fw, fh = WEBCAM_FRAME_WH_PX
        for _ in range(rng.randint(1, 3)):
            hand = cv2.imread(str(rng.choice(photos)))
            if hand is None:
                continue
            side = int(np.exp(rng.uniform(*np.log(SIGN_HAND_PX_RANGE))))
            x, y = rng.randint(-side // 4, fw - 3 * side // 4), rng.randint(-side // 4, fh - 3 * side // 4)
            if any(intersection_area((x, y, x + side, y + side), b) > 0 for b in face_boxes):
                continue  # a hand over a labelled face would teach that a half-hidden face is background
            paste_hand(image, np.ascontiguousarray(hand[:, ::-1]) if rng.random() < 0.5 else hand, x, y, side, alpha)
        made.append((f"{prefix}hand_{k:03d}_{scene_path.stem}", image, face_boxes))
    for k in range(n_closeups):
        path = rng.choice(photos)
        hand = cv2.imread(str(path))
        if hand is None:
            continue
        side = rng.choice(CLOSEUP_FRAME_PX)
        made.append((f"{prefix}close_{k:03d}_{path.stem}", cv2.resize(hand, (side, side)), []))
    return made


def write_hand_frames(made: list, out: Path, folder_name: str) -> Path:
    """Write (name, image, face boxes) frames as out/<folder_name>/{images,labels}/train; returns the images folder."""
    images, labels = out / folder_name / "images" / "train", out / folder_name / "labels" / "train"
    for folder in (images, labels):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for name, image, boxes in made:
        cv2.imwrite(str(images / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        write_yolo_boxes(labels / f"{name}.txt", boxes, image.shape[1], image.shape[0])  # empty: background
    return images


def contact_sheet(crops: list, path: Path, n: int = 100, seed: int = 0) -> None:
    """A 10x10 sheet of random hand crops, to check by eye that none shows a face."""
    sample = random.Random(seed).sample(crops, min(n, len(crops)))
    tiles = [cv2.resize(image, (128, 128)) for _, image in sample]
    tiles += [np.zeros((128, 128, 3), np.uint8)] * (-len(tiles) % 10)
    cv2.imwrite(str(path), np.vstack([np.hstack(tiles[r:r + 10]) for r in range(0, len(tiles), 10)]))


def build(datasets: Path, extra: Path, hands_src: Path | None, out: Path, holdout_out: Path,
          old_composites: Path, counts: dict[str, int], textures: int = TEXTURE_NEGATIVES,
          sign_hands: Path | None = None,
          sign_counts: tuple[int, ...] = (SIGN_HAND_SCENES, SIGN_HAND_CLOSEUPS, SIGN_HAND_TORSOS),
          backdrop_hands: Path | None = None, hand_closeups: Path | None = None, base_list: Path | None = None,
          backdrop_counts: tuple[int, int] = (BACKDROP_HAND_SCENES, BACKDROP_HAND_TORSOS)) -> Path:
    """`base_list`: a train list written before (e.g. a drawn mix) that stands in for the WIDER scenes,
    composites and negatives, which are then not made again; only the hand folders are added to it."""
    wider = datasets / "wider_face_subset"
    out.mkdir(parents=True, exist_ok=True)
    scenes = holdout.training_images(wider)
    faces = holdout.fetched_faces(datasets, extra, "train")
    if base_list is not None:
        train = [str(base_list)]
    else:
        (out / "wider_train.txt").write_text("".join(f"{p}\n" for p in scenes))
        train = [str(out / "wider_train.txt")]
        if old_composites.is_dir():
            kept = [p for p in sorted(old_composites.glob("*.jpg"))
                    if not holdout.is_set_aside(p.stem.split("_", 2)[-1])]  # names are <kind>_<k>_<scene stem>
            (out / "old_composites.txt").write_text("".join(f"{p}\n" for p in kept))
            train.append(str(out / "old_composites.txt"))
        holdout.write_composites(wider, scenes, faces, out / "composites" / "images" / "train",
                                 out / "composites" / "labels" / "train", TRAIN_SEED, counts)
        train.append(str(out / "composites" / "images" / "train"))
        crops = hand_crops(hands_src, set(holdout.hands_names())) if hands_src else []
        if crops:
            contact_sheet(crops, out / "hand_crops_sheet.jpg")
        write_negatives(crops, texture_negatives(wider, scenes, textures, TRAIN_SEED), out)
        train.append(str(out / "negatives" / "images" / "train"))
    made_by_folder = {}
    if sign_hands is not None:
        photos = folder_images(sign_hands)
        made_by_folder["sign_hands"] = hand_images(photos, wider, scenes, faces, TRAIN_SEED, *sign_counts[:2]) \
            + hand_torsos(photos, wider, scenes, TRAIN_SEED, *sign_counts[2:])
    if backdrop_hands is not None:
        photos = folder_images(backdrop_hands)
        made_by_folder["backdrop_hands"] = \
            hand_images(photos, wider, scenes, faces, TRAIN_SEED, backdrop_counts[0], 0, backdrop_alpha, "backdrop") \
            + hand_torsos(photos, wider, scenes, TRAIN_SEED, backdrop_counts[1], backdrop_alpha, "backdrop")
    if hand_closeups is not None:
        photos = folder_images(hand_closeups)
        made_by_folder["hand_closeups"] = hand_images(photos, wider, scenes, faces, TRAIN_SEED, 0, len(photos),
                                                      prefix="closeup")
    for folder_name, made in made_by_folder.items():
        train.append(str(write_hand_frames(made, out, folder_name)))
        contact_sheet([(name, image) for name, image, _ in made], out / f"{folder_name}_sheet.jpg", n=50)
    val = [str(holdout_out / "wider_setaside" / "images" / "val"), str(holdout_out / "composite" / "images" / "val")]
    yaml_path = out / "data.yaml"
    yaml_path.write_text("# detector training data after issue 19 (detection/train_data.py); val: sets no stage "
                         "was chosen on (detection/holdout.py)\n"
                         f"train: [{', '.join(train)}]\nval: [{', '.join(val)}]\nnc: 1\nnames: [face]\n")
    return yaml_path


def main(argv=None) -> int:
    from core.paths import EXTRA_DATA_DIR
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", type=Path, default=holdout.DEFAULT_DATASETS)
    p.add_argument("--extra", type=Path, default=EXTRA_DATA_DIR)
    p.add_argument("--hand-crops", action="store_true",
                   help="add the annotated hand boxes of HandsDataset frames outside the evaluation list as "
                        "negatives (check hand_crops_sheet.jpg by eye: faces can sit at a box's edge)")
    p.add_argument("--hands-src", type=Path, default=holdout.DEFAULT_HANDS_SRC,
                   help="extracted HandsDataset images/ with its .xml files (for --hand-crops)")
    p.add_argument("--sign-hands", type=Path, default=None,
                   help="the Sign Language Digits Dataset's Dataset/ folder (github.com/ardamavi/"
                        "Sign-Language-Digits-Dataset, Apache-2.0): face-free hands of 218 people as negatives")
    p.add_argument("--backdrop-hands", type=Path, default=None,
                   help="face-free hand photos on a plain coloured backdrop (e.g. the rock-paper-scissors "
                        "rps-cv-images on a green screen, CC BY-SA 4.0): keyed out and pasted as negatives")
    p.add_argument("--hand-closeups", type=Path, default=None,
                   help="face-free close-up hand photos: as many frame-filling negatives, drawn from them at random")
    p.add_argument("--base-list", type=Path, default=None,
                   help="an existing train list (e.g. data_cache/detector_v3_mix/train.txt) to add only the "
                        "hand folders to, instead of making the WIDER scenes, composites and negatives again")
    p.add_argument("--holdout", type=Path, default=holdout.DEFAULT_OUT, help="where detection.holdout wrote")
    p.add_argument("--old-composites", type=Path, default=DEFAULT_OLD_COMPOSITES)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (keep it git-ignored)")
    args = p.parse_args(argv)
    # data.yaml lists these paths and ultralytics reads relative ones against the yaml's own folder
    args.out, args.holdout = args.out.resolve(), args.holdout.resolve()
    args.base_list = args.base_list.resolve() if args.base_list is not None else None
    if not (args.holdout / "composite_holdout.yaml").is_file():
        print(f"error: no held-out sets in {args.holdout}: run `python -m detection.holdout` first", file=sys.stderr)
        return 2
    hands = args.hands_src if args.hand_crops else None
    if hands is not None and not any(hands.glob("*.xml")):
        print(f"error: no HandsDataset annotations in {hands}: extract them as detection/negatives_hands.txt "
              f"says, or leave out --hand-crops", file=sys.stderr)
        return 2
    hand_folders = (
        ("--sign-hands", args.sign_hands, "extract the Sign Language Digits Dataset's Dataset/ folder there"),
        ("--backdrop-hands", args.backdrop_hands, "pass a folder of hand photos on a plain backdrop"),
        ("--hand-closeups", args.hand_closeups, "pass a folder of close-up hand photos"))
    for flag, folder, hint in hand_folders:
        if folder is not None and not folder_images(folder):
            print(f"error: no photos in {folder}: {hint}, or leave out {flag}", file=sys.stderr)
            return 2
    if args.base_list is not None and not args.base_list.is_file():
        print(f"error: no train list at {args.base_list}: pass an existing list file to --base-list, or leave "
              f"it out", file=sys.stderr)
        return 2
    try:
        print(build(args.datasets, args.extra, hands, args.out, args.holdout, args.old_composites, TRAIN_KIND_COUNTS,
                    sign_hands=args.sign_hands, backdrop_hands=args.backdrop_hands,
                    hand_closeups=args.hand_closeups, base_list=args.base_list))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
