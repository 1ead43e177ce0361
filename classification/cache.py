"""Decode every training face once into a uint8 array, so epochs cost model time, not JPEG time.

Each face is stored as the square crop at the largest face-extraction scale the app offers
(`CACHE_SCALE`), RGB, `CACHE_SIZE_PX` wide; training cuts smaller scales out of it, the way the app's
slider would, and pads exactly like `pipeline.crop.square_crop` does.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from classification.datasets import FaceSample, read_fairface, read_utkface, split_of
from pipeline.crop import square_crop

CACHE_SCALE = 2.0
CACHE_SIZE_PX = 160
SOURCES = ("utkface", "fairface")


def face_box(sample: FaceSample, width: int, height: int) -> tuple[float, float, float, float]:
    if sample.box is not None:
        return sample.box
    side = sample.face_fraction * min(width, height)
    cx, cy = width / 2.0, height / 2.0
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def load_face(sample: FaceSample, scale: float = CACHE_SCALE, size_px: int = CACHE_SIZE_PX) -> np.ndarray | None:
    """The RGB square crop of one sample, or None if the image cannot be read."""
    image = cv2.imread(sample.path, cv2.IMREAD_COLOR)
    if image is None:
        return None
    crop = square_crop(image, face_box(sample, image.shape[1], image.shape[0]), scale, size_px)
    return crop[:, :, ::-1]


def split_name(sample: FaceSample) -> str:
    """'test' (10%), 'val' (5%) or 'train', fixed by a hash of the subject key and the source."""
    key = f"{sample.source}:{sample.subject}"
    if split_of(key, 10) == "test":
        return "test"
    return "val" if split_of("val:" + key, 6) == "test" else "train"


def build_cache(datasets_root: str | Path, out_dir: str | Path) -> Path:
    """Write images.npy, labels.npz and meta.json under out_dir; returns out_dir."""
    datasets_root, out_dir = Path(datasets_root), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = read_utkface(datasets_root / "utkface") + read_fairface(datasets_root / "fairface")
    if not samples:
        raise FileNotFoundError(f"no UTKFace or FairFace images under {datasets_root}")
    images = np.lib.format.open_memmap(out_dir / "images.tmp.npy", mode="w+", dtype=np.uint8,
                                       shape=(len(samples), CACHE_SIZE_PX, CACHE_SIZE_PX, 3))
    keep = np.zeros(len(samples), dtype=bool)
    for i, sample in enumerate(tqdm(samples, desc="decoding faces", unit="img")):
        face = load_face(sample)
        if face is not None:
            images[i], keep[i] = face, True
    images.flush()
    del images
    (out_dir / "images.tmp.npy").replace(out_dir / "images.npy")
    np.savez(
        out_dir / "labels.npz",
        keep=keep,
        age_soft=np.stack([s.age_soft for s in samples]),
        gender=np.array([s.gender for s in samples], dtype=np.int8),
        age_years=np.array([s.age_years for s in samples], dtype=np.float32),
        age_range=np.array([s.age_range_years or (-1, -1) for s in samples], dtype=np.int16),
        source=np.array([SOURCES.index(s.source) for s in samples], dtype=np.int8),
        split=np.array([split_name(s) for s in samples]),
        path=np.array([s.path for s in samples]),
    )
    meta = {"scale": CACHE_SCALE, "size_px": CACHE_SIZE_PX, "count": int(keep.sum()), "sources": SOURCES}
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1))
    return out_dir


def load_cache(cache_dir: str | Path) -> tuple[np.ndarray, dict]:
    cache_dir = Path(cache_dir)
    images = np.load(cache_dir / "images.npy", mmap_mode="r")
    labels = dict(np.load(cache_dir / "labels.npz"))
    return images, labels
