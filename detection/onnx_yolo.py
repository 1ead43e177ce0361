"""A lean ONNX Runtime path for the exported YOLO detector: letterbox, one session call, decode, NMS.

Why not ultralytics' own ONNX backend: it leaves ONNX Runtime's thread count at its default and adds
per-call pre- and post-processing in torch; measured on the 2-core build machine,
a 640x480 frame took 36 ms through it and 22 ms through this path with two threads (`python -m
detection.evaluate`, before and after this path existed).

A file exported with dynamic height and width gets the smallest stride-multiple rectangle that holds
the scaled frame (ultralytics' `rect` letterbox): a 640x480 frame at 320 runs as 320x256, not 320x320,
so a fifth of the convolution work on grey padding is gone and faces keep the same scale.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

LETTERBOX_GREY = 114  # ultralytics' padding value, so inputs match training
STRIDE_PX = 32        # YOLOv8's largest stride: dynamic input sides must be multiples of it


def nms_keep(xywh: np.ndarray, scores: np.ndarray, confidence: float, iou: float, max_det: int) -> np.ndarray:
    """Indices of the boxes greedy NMS keeps, best first, at most `max_det` of them.

    Why the cap comes after the suppression: OpenCV's `NMSBoxes(top_k=...)` keeps the top_k highest
    *candidates* before suppressing, and a face has several overlapping candidates, so `top_k=max_det` lost
    faces in crowds (issue 19: on WIDER val at 640 px, AP@0.5 on faces >= 20 px was 0.854 through this
    path against 0.890 through ultralytics' own NMS on the same weights).
    """
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), confidence, iou)
    return np.array(keep, dtype=int).reshape(-1)[:max_det]


def rect_input_hw(frame_h: int, frame_w: int, imgsz_px: int) -> tuple[int, int]:
    """(height, width) of the smallest stride-multiple rectangle around a frame scaled so its longer side is
    imgsz_px, itself first rounded up to a multiple of STRIDE_PX."""
    imgsz_px = -(-imgsz_px // STRIDE_PX) * STRIDE_PX
    gain = imgsz_px / max(frame_h, frame_w)
    new_h, new_w = max(1, round(frame_h * gain)), max(1, round(frame_w * gain))
    return new_h + (imgsz_px - new_h) % STRIDE_PX, new_w + (imgsz_px - new_w) % STRIDE_PX


def letterbox_blob(frame_bgr: np.ndarray, in_h: int, in_w: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """The network input for a frame: scaled to fit in_h x in_w, centred on grey, RGB, 1x3xHxW float in 0-1;
    with the scale and the (left, top) padding in pixels that map boxes back to the frame."""
    h, w = frame_bgr.shape[:2]
    gain = min(in_h / h, in_w / w)
    new_w, new_h = max(1, round(w * gain)), max(1, round(h * gain))
    pad_x, pad_y = (in_w - new_w) / 2, (in_h - new_h) / 2
    canvas = np.full((in_h, in_w, 3), LETTERBOX_GREY, np.uint8)
    left, top = int(round(pad_x - 0.1)), int(round(pad_y - 0.1))
    canvas[top:top + new_h, left:left + new_w] = cv2.resize(frame_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    blob = canvas[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return np.ascontiguousarray(blob), gain, (left, top)


class OnnxYolo:
    """YOLOv8 ONNX detect model, output 1 x (4 + classes) x N: cx, cy, w, h in input pixels, then class
    scores; ours has the one class `face` (a multi-class file counts its best class, as ultralytics'
    class-agnostic NMS would)."""

    def __init__(self, path: str | Path, imgsz_px: int, threads: int):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # ONNX Runtime's threads spin for a while after each call by default, and the classifier runs
        # right after the detector on the same 2 cores: with spinning, per-face classification took 9.0 ms
        # instead of 4.1 ms and 8 tracked faces ran at 44.9 instead of 57.8 FPS (`python -m bench.bench
        # --skip-startup`, the two settings back to back, session 11); the detector's own time was unchanged.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        h, w = inp.shape[2], inp.shape[3]
        self.fixed_hw = (h, w) if isinstance(h, int) and isinstance(w, int) else None
        self.imgsz_px = imgsz_px
        out_shape = self.session.get_outputs()[0].shape
        if len(out_shape) != 3 or (isinstance(out_shape[1], int) and out_shape[1] < 5):
            raise ValueError(f"expected a YOLO detect output of shape 1x(4+classes)xN, got {out_shape}")

    def input_hw(self, frame_h: int, frame_w: int) -> tuple[int, int]:
        """Network input (height, width) for a frame: the file's fixed size, or the smallest stride-multiple
        rectangle around the frame scaled so its longer side is imgsz."""
        return self.fixed_hw or rect_input_hw(frame_h, frame_w, self.imgsz_px)

    def predict(self, frame_bgr: np.ndarray, confidence: float, iou: float, max_det: int):
        """(boxes xyxy in frame pixels, scores) after non-maximum suppression."""
        h, w = frame_bgr.shape[:2]
        blob, gain, (left, top) = letterbox_blob(frame_bgr, *self.input_hw(h, w))
        pred = self.session.run(None, {self.input_name: blob})[0][0].T  # N x (4+classes)
        scores = pred[:, 4:].max(axis=1)
        confident = scores >= confidence
        pred, scores = pred[confident], scores[confident]
        if not len(pred):
            return np.zeros((0, 4)), np.zeros(0)
        cx, cy, bw, bh = pred[:, :4].T
        xywh = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1)
        keep = nms_keep(xywh, scores, confidence, iou, max_det)
        boxes = xywh[keep].copy()
        boxes[:, 2:] += boxes[:, :2]
        boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - left) / gain).clip(0, w)
        boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - top) / gain).clip(0, h)
        return boxes.astype(float), scores[keep].astype(float)
