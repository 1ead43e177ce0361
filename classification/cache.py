"""Decode every training face once into a uint8 array, so epochs cost model time, not JPEG time.

Each face is cut the way the app cuts it: `core.crop.square_crop` around the box that the app's own
face detector finds in that image (`face_box`), so the classifier learns on the framing it meets at run
time rather than on a fixed fraction of an aligned chip. Where the detector finds no face that overlaps
the expected one, the dataset's own box (landmarks, or the chip's central fraction) stands in, and the
cache records that (`box_found`). The stored square is at the largest face-extraction scale the app
offers (`CACHE_SCALE`), RGB, `CACHE_SIZE_PX` wide; training and evaluation cut smaller scales out of it.
"""
from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.cli import OneLineParser
from core.config import CROP_SCALE_RANGE, DEFAULT_CROP_SCALE
from core.crop import square_crop
from core.errors import WeightsError
from core.geometry import iou
from facedata.datasets import FaceSample, read_training_sources, split_name

CACHE_SCALE = CROP_SCALE_RANGE[1]   # the largest face-extraction size the app offers: smaller ones are cut from it
CACHE_SIZE_PX = 160
SOURCES = ("utkface", "fairface", "aaf")
# A detection counts as the labelled face when it overlaps the dataset's own box this much (IoU).
MIN_BOX_AGREEMENT_IOU = 0.3
# The detector's threshold while cutting training crops: lower than the app's, since the labelled face
# is known to be there and only its framing is asked for.
CACHE_DETECTOR_CONFIDENCE = 0.15


def expected_box(sample: FaceSample, width: int, height: int) -> tuple[float, float, float, float]:
    """The dataset's own idea of where the face is: its box, or the chip's central fraction."""
    if sample.box is not None:
        return sample.box
    side = sample.face_fraction * min(width, height)
    cx, cy = width / 2.0, height / 2.0
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def face_box(sample: FaceSample, image: np.ndarray, detector) -> tuple[tuple[float, float, float, float], bool]:
    """The box the app's detector finds for the labelled face, and whether it found one.

    Of the detections, the one that overlaps the dataset's own box most is taken if it overlaps it at
    all convincingly (`MIN_BOX_AGREEMENT_IOU`); otherwise the dataset's box is returned with False.
    """
    expected = expected_box(sample, image.shape[1], image.shape[0])
    best, best_iou = None, MIN_BOX_AGREEMENT_IOU
    for face in detector.detect(image) if detector is not None else []:
        overlap = iou(face.box, expected)
        if overlap >= best_iou:
            best, best_iou = face.box, overlap
    return (best, True) if best is not None else (expected, False)


_WORKER_DETECTOR = None


def _init_worker(detector_weights: str | None) -> None:
    global _WORKER_DETECTOR  # one detector per worker process, built once
    cv2.setNumThreads(1)
    from detection import FaceDetector
    _WORKER_DETECTOR = FaceDetector(detector_weights, confidence=CACHE_DETECTOR_CONFIDENCE, threads=1)


def _cut(sample: FaceSample):
    image = cv2.imread(sample.path, cv2.IMREAD_COLOR)
    if image is None:
        return None, None, False
    box, found = face_box(sample, image, _WORKER_DETECTOR)
    return square_crop(image, box, CACHE_SCALE, CACHE_SIZE_PX)[:, :, ::-1], box, found


def build_cache(samples: list[FaceSample], out_dir: str | Path, detector_weights: str | None = None,
                workers: int = 0) -> Path:
    """Write images.npy, labels.npz and meta.json under out_dir; returns out_dir.

    The detector runs in `workers` processes (0: one per core). The image array is written under a
    temporary name and renamed at the end, so an interrupted build never leaves a cache that looks whole.
    """
    out_dir = Path(out_dir)
    if not samples:
        raise FileNotFoundError("no training faces found: pass --datasets (../shared/datasets, its README) and "
                                "--extra (the fetched data, MORE_DATA.md)")
    out_dir.mkdir(parents=True, exist_ok=True)
    images = np.lib.format.open_memmap(out_dir / "images.tmp.npy", mode="w+", dtype=np.uint8,
                                       shape=(len(samples), CACHE_SIZE_PX, CACHE_SIZE_PX, 3))
    keep = np.zeros(len(samples), dtype=bool)
    found = np.zeros(len(samples), dtype=bool)
    boxes = np.zeros((len(samples), 4), dtype=np.float32)
    workers = workers or os.cpu_count() or 1
    with multiprocessing.get_context("spawn").Pool(workers, _init_worker, (detector_weights,)) as pool:
        results = pool.imap(_cut, samples, chunksize=64)
        for i, (face, box, ok) in enumerate(tqdm(results, total=len(samples), desc="cutting faces",
                                                  unit="img", mininterval=10)):
            if face is not None:
                images[i], keep[i], found[i], boxes[i] = face, True, ok, box
    images.flush()
    del images
    (out_dir / "images.tmp.npy").replace(out_dir / "images.npy")
    np.savez(
        out_dir / "labels.npz",
        keep=keep,
        box_found=found,
        box=boxes,
        age_soft=np.stack([s.age_soft for s in samples]),
        gender=np.array([s.gender for s in samples], dtype=np.int8),
        age_years=np.array([s.age_years for s in samples], dtype=np.float32),
        age_range=np.array([s.age_range_years or (-1, -1) for s in samples], dtype=np.int16),
        source=np.array([SOURCES.index(s.source) for s in samples], dtype=np.int8),
        split=np.array([split_name(s) for s in samples]),
        path=np.array([s.path for s in samples]),
    )
    source = np.array([s.source for s in samples])
    per_source = {name: {"faces": int(keep[source == name].sum()), "detector_box": int((found & keep)[source == name].sum())}
                  for name in SOURCES}
    meta = {"scale": CACHE_SCALE, "size_px": CACHE_SIZE_PX, "count": int(keep.sum()), "sources": SOURCES,
            "boxes": "app detector (classification.cache.face_box)", "per_source": per_source}
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1))
    return out_dir


def cache_scale(cache_dir: str | Path) -> float:
    """The slider scale a face cache's squares were cut at (its meta.json)."""
    return float(json.loads((Path(cache_dir) / "meta.json").read_text())["scale"])


def load_labels(cache_dir: str | Path) -> dict:
    """A face cache's labels.npz as {name: array}, or {} where there is no cache."""
    labels_file = Path(cache_dir) / "labels.npz"
    return dict(np.load(labels_file)) if labels_file.is_file() else {}


def load_cache(cache_dir: str | Path) -> tuple[np.ndarray, dict]:
    """(images memory-mapped, labels): FileNotFoundError where there is no cache."""
    cache_dir = Path(cache_dir)
    images = np.load(cache_dir / "images.npy", mmap_mode="r")
    return images, load_labels(cache_dir)


def center_crops(tf, images: np.ndarray, input_size_px: int, cache_scale: float, scale: float = DEFAULT_CROP_SCALE):
    """Deterministic evaluation crops at one slider scale (no augmentation)."""
    half = scale / cache_scale / 2.0
    n = len(images)
    boxes = np.tile([[0.5 - half, 0.5 - half, 0.5 + half, 0.5 + half]], (n, 1)).astype(np.float32)
    return tf.image.crop_and_resize(tf.cast(images, tf.float32), boxes, tf.range(n),
                                    (input_size_px, input_size_px), extrapolation_value=0.0)


def cache_crop(cached_rgb: np.ndarray, cache_scale: float, scale: float, size_px: int) -> np.ndarray:
    """`center_crops` for one face in numpy, for the app's classifier: the BGR crop at slider `scale` cut
    from a cached square (stored RGB at `cache_scale`), resized to the classifier's input (shrunk by area,
    enlarged bilinearly)."""
    n = cached_rgb.shape[0]
    side = max(1, int(round(n * scale / cache_scale)))
    top = (n - side) // 2
    crop = np.ascontiguousarray(cached_rgb[top:top + side, top:top + side, ::-1])
    interp = cv2.INTER_AREA if side > size_px else cv2.INTER_LINEAR
    return cv2.resize(crop, (size_px, size_px), interpolation=interp)


def main(argv=None) -> int:
    """`python -m classification.cache`: build the face cache that training and evaluation read."""
    import sys

    from core.cli import number_in
    from core.paths import DATASETS_DIR, EXTRA_DATA_DIR, FACE_CACHE_DIR
    p = OneLineParser(description=main.__doc__)
    p.add_argument("--datasets", default=str(DATASETS_DIR))
    p.add_argument("--extra", default=str(EXTRA_DATA_DIR), help="fetched data (MORE_DATA.md)")
    p.add_argument("--out", default=str(FACE_CACHE_DIR))
    p.add_argument("--detector", default=None, help="detector weights, .onnx (default: the shipped file)")
    p.add_argument("--workers", type=number_in(0, 1024, int), default=0, help="detector processes (0: one per core)")
    p.add_argument("--limit", type=number_in(0, 10**9, int), default=0, help="only the first N faces (a quick try)")
    args = p.parse_args(argv)
    if args.detector:  # load it once here: a worker that cannot is respawned by the pool for ever
        if Path(args.detector).suffix.lower() != ".onnx":   # this tool has no --trust-checkpoints to offer
            raise WeightsError(f"--detector {args.detector}: give an .onnx file (`python -m detection.export` makes "
                               f"one from a .pt checkpoint)")
        from detection import FaceDetector
        FaceDetector(args.detector)   # WeightsError (one line) for a missing or a damaged file
    out = Path(args.out)
    if (out / "labels.npz").is_file():
        print(f"error: a cache already exists at {out}; pass another --out or delete it", file=sys.stderr)
        return 2
    samples = read_training_sources(args.datasets, args.extra)
    if args.limit:
        samples = samples[:: max(1, len(samples) // args.limit)][: args.limit]
    if samples:   # none: build_cache says what to fetch
        print("faces per source: " + ", ".join(f"{name} {sum(s.source == name for s in samples)}" for name in SOURCES),
              flush=True)
    build_cache(samples, out, args.detector, args.workers)
    print((out / "meta.json").read_text())
    return 0


if __name__ == "__main__":
    from core.cli import run_tool
    raise SystemExit(run_tool(main))
