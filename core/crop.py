"""The square face crop that the classifier sees, in the app, in training and in evaluation alike."""
from __future__ import annotations

import math

import cv2
import numpy as np

from core.geometry import Box
from core.images import to_bgr

PAD_VALUE_BGR = (0, 0, 0)


def square_crop(image: np.ndarray, box: Box, scale: float, size_px: int | None = None) -> np.ndarray:
    """Cut a square of side `scale` x the box's longer side, centred on the box.

    `scale` has no default on purpose: the app's is `AppConfig.crop_scale` (core.config), and training,
    caching and evaluation name theirs, so no third value can drift away from both.

    Where the square leaves the image it is padded with black rather than shifted or stretched, so a
    face at the border keeps its proportions and sits where the classifier expects it. `size_px` resizes
    the square to that side; None keeps the native resolution (at least 1 px).
    """
    image = to_bgr(image)
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2, float(scale))):
        raise ValueError(f"square_crop needs finite numbers: box {tuple(box)}, scale {scale}")
    if size_px is not None and int(size_px) < 1:
        raise ValueError(f"square_crop size_px must be at least 1 (or None for native size), got {size_px}")
    side = max(abs(x2 - x1), abs(y2 - y1), 1.0) * max(float(scale), 1e-3)
    side_px = max(1, int(round(side)))
    left = int(round((x1 + x2) / 2.0 - side_px / 2.0))
    top = int(round((y1 + y2) / 2.0 - side_px / 2.0))
    right, bottom = left + side_px, top + side_px

    src_l, src_t = max(left, 0), max(top, 0)
    src_r, src_b = min(right, width), min(bottom, height)
    if src_r <= src_l or src_b <= src_t:  # the square lies wholly outside the image
        crop = np.full((side_px, side_px, 3), PAD_VALUE_BGR, dtype=np.uint8)
    else:
        crop = cv2.copyMakeBorder(
            image[src_t:src_b, src_l:src_r],
            src_t - top, bottom - src_b, src_l - left, right - src_r,
            cv2.BORDER_CONSTANT, value=PAD_VALUE_BGR,
        )
    if size_px is not None and crop.shape[0] != size_px:
        interp = cv2.INTER_AREA if crop.shape[0] > size_px else cv2.INTER_LINEAR
        crop = cv2.resize(crop, (int(size_px), int(size_px)), interpolation=interp)
    return crop
