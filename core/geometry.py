"""Box geometry, in one place: boxes are (x1, y1, x2, y2) in frame pixels, right/bottom exclusive."""
from __future__ import annotations

import numpy as np

Box = tuple[float, float, float, float]


def intersection_area(a: Box, b: Box) -> float:
    """Area two boxes share (0 when they do not touch)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def covered_fraction(box: Box, region: Box) -> float:
    """Share of `box`'s area inside `region` (0 for an empty box)."""
    return intersection_area(box, region) / max(area(box), 1e-6)


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """N x 4 corner boxes as (left, top, width, height), the form OpenCV's NMS takes."""
    return np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not touch, or when both are empty)."""
    inter = intersection_area(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of `a` (N x 4) with every box of `b` (M x 4): an N x M array, vectorised."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)
