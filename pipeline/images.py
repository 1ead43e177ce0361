"""Frame normalisation: every stage downstream can assume a contiguous 3-channel uint8 BGR image."""
from __future__ import annotations

import cv2
import numpy as np


class FrameError(ValueError):
    """A frame that cannot be turned into a BGR image (wrong rank, empty, unknown channel count)."""


def to_bgr(frame: np.ndarray) -> np.ndarray:
    """Return `frame` as uint8 BGR, converting grey (HxW or HxWx1) and BGRA; raises FrameError otherwise."""
    if frame is None:
        raise FrameError("no frame (None)")
    image = np.asarray(frame)
    if image.size == 0 or image.ndim not in (2, 3):
        raise FrameError(f"expected an HxW or HxWxC image, got shape {image.shape}")
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating) and image.max(initial=0) <= 1.0:
            image = image * 255.0
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise FrameError(f"expected 1, 3 or 4 channels, got {image.shape[2]}")
