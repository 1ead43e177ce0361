"""YOLO dataset files: data.yaml, and label files of one `class xc yc w h` line per box, normalised to the
image size.

Read and written by the detector's data tools (composites, held-out sets, training data, packing) and read
by its training and evaluation; `label_path` finds an image's label file the way ultralytics does (the last
`images` folder becomes `labels`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import SourceError
from core.images import IMAGE_SUFFIXES


def label_path(image: Path) -> Path:
    parts = list(image.parts)
    idx = len(parts) - 1 - parts[::-1].index("images")
    parts[idx] = "labels"
    return Path(*parts).with_suffix(".txt")


def folder_images(folder: Path) -> list[Path]:
    """Every image under `folder` (recursively), in name order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def read_yolo_boxes(path: Path, width: int, height: int) -> np.ndarray:
    """The boxes of a label file in pixels (N x 4, x1 y1 x2 y2); no file or no valid line: 0 x 4."""
    boxes = []
    if path.is_file():
        for line in path.read_text().splitlines():
            v = line.split()
            if len(v) == 5:
                xc, yc, w, h = (float(x) for x in v[1:])
                boxes.append([(xc - w / 2) * width, (yc - h / 2) * height, (xc + w / 2) * width, (yc + h / 2) * height])
    return np.array(boxes, np.float64).reshape(-1, 4)


def write_yolo_boxes(path: Path, boxes, width: int, height: int) -> None:
    """Write pixel boxes as class-0 lines, clipped to the image; boxes under 2 px after clipping are left out."""
    lines = []
    for x1, y1, x2, y2 in boxes:
        x1, x2 = max(0.0, x1), min(float(width), x2)
        y1, y2 = max(0.0, y1), min(float(height), y2)
        if x2 - x1 >= 2 and y2 - y1 >= 2:
            lines.append(f"0 {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
                         f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")
    path.write_text("\n".join(lines) + ("\n" if lines else ""))


def read_data_yaml(data_yaml: Path, splits: tuple[str, ...]) -> dict:
    """The mapping a YOLO data.yaml holds, checked to name every one of `splits`.

    Why: a text file, an empty file or a list given as --data used to end in "AttributeError: 'str' object
    has no attribute 'get'" here, or in an ultralytics RuntimeError after the model was built; this says
    in one line (SourceError) which file is wrong and what it must hold.
    """
    import yaml
    if not data_yaml.is_file():
        raise SourceError(f"no data.yaml at {data_yaml}: pass --data with a YOLO data.yaml")
    try:
        cfg = yaml.safe_load(data_yaml.read_text())
    except (yaml.YAMLError, UnicodeDecodeError, ValueError):
        cfg = None
    missing = [split for split in splits if not isinstance(cfg, dict) or not cfg.get(split)]
    if missing:
        raise SourceError(f"{data_yaml} is not a YOLO data.yaml naming image folders for {', '.join(missing)}: "
                          f"pass one with '{splits[0]}: <folder>' lines, like those python -m detection.train_data "
                          f"writes")
    return cfg


def split_folders(data_yaml: Path, split: str) -> list[Path]:
    """The image folders a data.yaml names for `split` (one entry or a list), resolved as ultralytics does."""
    cfg = read_data_yaml(data_yaml, (split,))
    base = Path(cfg.get("path") or data_yaml.parent)
    entries = cfg[split] if isinstance(cfg[split], list) else [cfg[split]]
    return [Path(entry) if Path(entry).is_absolute() else base / entry for entry in entries]
