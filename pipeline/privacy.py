"""Face blurring, so a display, snapshot or recording can be shared without identifiable faces.

Applied to the frame *before* boxes and labels are drawn, so the tags stay sharp and readable on top
of the blurred faces. The blur is a strong pixelation smoothed back up: the face region is shrunk to
`BLUR_CELLS_ACROSS` cells and enlarged again with linear interpolation. That leaves no facial detail to
recover (unlike a light Gaussian, which can be partly undone), costs the same for a 40 px and a 400 px
face, and looks soft rather than blocky.

Detector boxes are tight around the face, so the blurred region is the box grown by
`BLUR_MARGIN_FRACTION` on every side (hairline, ears and chin identify people too). A detector can miss
a face on a single frame; `FaceBlurrer` therefore keeps blurring a tracked face's last box for
`BLUR_HOLD_FRAMES` frames after it was last detected, so a recording does not flash a sharp face.
"""
from __future__ import annotations

import cv2
import numpy as np

from core.face import Face
from core.geometry import Box

BLUR_MARGIN_FRACTION = 0.15   # grow each box by this fraction of its width/height on every side
BLUR_CELLS_ACROSS = 6         # the face region keeps this many cells of colour across its longer side
BLUR_HOLD_FRAMES = 5          # keep blurring a track's last box for this many frames after a miss


def blur_region(box: Box, frame_shape: tuple[int, ...], margin_fraction: float = BLUR_MARGIN_FRACTION
                ) -> tuple[int, int, int, int] | None:
    """The integer pixel rectangle (x1, y1, x2, y2) that blurring `box` covers, clipped to the frame."""
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin_fraction, (y2 - y1) * margin_fraction
    height, width = frame_shape[:2]
    left, top = max(0, int(np.floor(x1 - mx))), max(0, int(np.floor(y1 - my)))
    right, bottom = min(width, int(np.ceil(x2 + mx))), min(height, int(np.ceil(y2 + my)))
    if right - left < 2 or bottom - top < 2:
        return None
    return left, top, right, bottom


def blur_boxes(frame_bgr: np.ndarray, boxes: list[Box], margin_fraction: float = BLUR_MARGIN_FRACTION,
               cells_across: int = BLUR_CELLS_ACROSS) -> np.ndarray:
    """Blur each box's region of `frame_bgr` in place (and return it); pixels outside them are untouched."""
    for box in boxes:
        region = blur_region(box, frame_bgr.shape, margin_fraction)
        if region is None:
            continue
        left, top, right, bottom = region
        patch = frame_bgr[top:bottom, left:right]
        h, w = patch.shape[:2]
        scale = cells_across / max(h, w)
        small = cv2.resize(patch, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        frame_bgr[top:bottom, left:right] = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return frame_bgr


def blur_faces(frame_bgr: np.ndarray, faces: list[Face]) -> np.ndarray:
    """Blur every face of one frame in place (no memory across frames: for photos)."""
    return blur_boxes(frame_bgr, [f.box for f in faces])


class FaceBlurrer:
    """Blurs the faces of consecutive video frames, holding a tracked face's box through short misses."""

    def __init__(self, hold_frames: int = BLUR_HOLD_FRAMES):
        self.hold_frames = hold_frames
        self._recent: dict[int, tuple[Box, int]] = {}   # track id -> (last box, frames since seen)

    def apply(self, frame_bgr: np.ndarray, faces: list[Face]) -> np.ndarray:
        """Blur this frame's faces plus recently seen tracks missing from it, in place."""
        seen = {f.track_id for f in faces if f.track_id is not None}
        held = []
        for track_id, (box, age) in list(self._recent.items()):
            if track_id in seen:
                continue
            if age + 1 > self.hold_frames:
                del self._recent[track_id]
            else:
                self._recent[track_id] = (box, age + 1)
                held.append(box)
        for face in faces:
            if face.track_id is not None:
                self._recent[face.track_id] = (face.box, 0)
        return blur_boxes(frame_bgr, [f.box for f in faces] + held)

    def reset(self) -> None:
        """A new stream (or track ids restart): forget the held boxes."""
        self._recent.clear()
