"""Frame normalisation: every stage downstream can assume a contiguous 3-channel uint8 BGR image."""
from __future__ import annotations

import cv2
import numpy as np

# still-image files the app reads (photo folders, `--source photo.jpg`) and writes (annotated photos);
# .webp is also what detection.pack_data writes
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
# video files the Open dialog offers (OpenCV's FFmpeg reads them); a folder of them is named in the error
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
# a typical webcam frame (width, height): the detector's webcam-like data, calibration and speed use it
WEBCAM_FRAME_WH_PX = (640, 480)
# a frame rate a header or camera reports outside PLAUSIBLE_FPS_RANGE (0, NaN, 90000 for some streams) is
# replaced: by FALLBACK_FPS for files and recordings (PAL video's rate), CAMERA_FALLBACK_FPS for cameras
PLAUSIBLE_FPS_RANGE = (1.0, 240.0)
FALLBACK_FPS = 25.0
CAMERA_FALLBACK_FPS = 30.0


def plausible_fps(fps: float | None, fallback: float = FALLBACK_FPS) -> float:
    """`fps` when it lies in PLAUSIBLE_FPS_RANGE, else `fallback`."""
    low, high = PLAUSIBLE_FPS_RANGE
    return float(fps) if fps is not None and low <= fps <= high else fallback


class FrameError(ValueError):
    """A frame that cannot be turned into a BGR image (wrong rank, empty, unknown channel count)."""


def to_bgr(frame: np.ndarray) -> np.ndarray:
    """Return `frame` as uint8 BGR, converting grey (HxW or HxWx1) and BGRA; raises FrameError otherwise."""
    if frame is None:
        raise FrameError("no frame (None)")
    if isinstance(frame, (str, bytes)) or hasattr(frame, "__fspath__"):
        raise FrameError(f"expected an image array, got the {type(frame).__name__} {frame!r}: read the file "
                         f"first, e.g. cv2.imread(path)")
    image = np.asarray(frame)
    if image.size == 0 or image.ndim not in (2, 3):
        raise FrameError(f"expected an HxW or HxWxC image, got shape {image.shape}")
    if image.dtype != np.uint8:
        image = _to_uint8(image)
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] == 3:
        return np.ascontiguousarray(image)
    raise FrameError(f"expected 1, 3 or 4 channels, got {image.shape[2]}")


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Scale, never clip: a 16-bit PNG spans 0-65535, and clipping it to 255 turns every face white.

    Unsigned integers map their full range onto 0-255 (65535 -> 255, i.e. / 257 for 16 bits); floats
    are taken as 0-1 when they fit there, else as 0-255; signed integers as 0-255 when they fit there,
    else their own min-max range.
    """
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if np.issubdtype(image.dtype, np.unsignedinteger):
        full_scale = np.iinfo(image.dtype).max / 255.0
        return np.round(image / full_scale).astype(np.uint8)
    values = np.nan_to_num(image.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = values.min(initial=0.0), values.max(initial=0.0)
    if np.issubdtype(image.dtype, np.floating) and low >= 0.0 and high <= 1.0:
        values = values * 255.0
    elif low < 0.0 or high > 255.0:
        values = (values - low) * (255.0 / max(high - low, 1e-12))
    return np.clip(values, 0, 255).astype(np.uint8)
