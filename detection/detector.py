"""`FaceDetector`: the project's own one-class YOLO model behind a two-method API."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.config import AppConfig
from core.errors import WeightsError, check_weights_file, missing_package_message, refuse_unsafe_weights
from core.face import Face
from core.geometry import area, intersection_area, xyxy_to_xywh
from core.images import to_bgr
from core.paths import DEFAULT_DETECTOR_WEIGHTS
from detection.onnx_yolo import OnnxYolo, nms_keep
from runtime import import_torch, import_ultralytics

SAFE_SUFFIX = ".onnx"          # a graph of tensors: loading it runs no code from the file
CHECKPOINT_SUFFIX = ".pt"      # a pickle: loading it runs whatever code the file holds
TRAIN_HINT = "train one with `python -m detection.train` and export it with `python -m detection.export` " \
             "(see weights/face_detector.md)"
TILE_OVERLAP_FRACTION = 0.25   # of a tile's side: faces smaller than this are whole in some tile
TILE_EDGE_MARGIN_PX = 4        # a tile's box this close to an inner tile edge is a cut face: dropped
# The whole frame and a tile can box one face differently (with and without chin and forehead): IoU under
# the NMS threshold, so both survived and became two tracks on one face (about one frame in five of the
# 1080p street clip of bench.real_clips). A box lying this much inside a better one is that duplicate;
# two real faces overlapping this much would have one of them hidden.
TILE_CONTAINED_FRACTION = 0.7


def default_detector_weights() -> Path:
    return DEFAULT_DETECTOR_WEIGHTS


def check_detector_file(path: Path, trust_checkpoint: bool) -> None:
    """WeightsError, before anything is read, for a file that could run code (`check_detector_suffix`), is
    missing, or is too small to be weights; what `FaceDetector` checks first, for tools to check up front."""
    check_detector_suffix(path, trust_checkpoint)
    check_weights_file(path, "face-detector", TRAIN_HINT, shipped=path == default_detector_weights())


def check_detector_suffix(path: Path, trust_checkpoint: bool) -> None:
    """Refuse, before anything is read, a file whose loading could run code, unless the user vouched for it."""
    refuse_unsafe_weights(
        path, SAFE_SUFFIX, CHECKPOINT_SUFFIX, trust_checkpoint,
        f"{path.name} is a PyTorch checkpoint, which can run code when loaded: if you made the file yourself, "
        f"export it to ONNX with `python -m detection.export {path} --out-dir {path.parent} --name "
        f"{path.stem}_app --trust-checkpoints`, or pass --trust-checkpoints.",
        f"{path.name} is not a face-detector file: pass an .onnx file "
        f"(`python -m detection.export` makes one).")


def refuse_untrusted_checkpoint(path: str | Path, trust_checkpoint: bool) -> None:
    """For the tools that read PyTorch checkpoints themselves (`detection.export`, `detection.train --weights`):
    every file they load is a pickle whatever its name, and loading one runs the code it holds, so nothing is
    read unless the user vouched for the file with --trust-checkpoints (as `main.py` asks)."""
    if not trust_checkpoint:
        raise WeightsError(f"loading {path} runs code stored in it (a PyTorch checkpoint is a pickle): pass "
                           f"--trust-checkpoints only for files you made yourself (e.g. runs/detector/<name>/"
                           f"weights/last.pt)")


def tile_starts(length_px: int, tile_px: int, overlap_px: int) -> list[int]:
    """Evenly spread tile offsets along one side, neighbours overlapping by at least `overlap_px`."""
    if length_px <= tile_px:
        return [0]
    count = int(np.ceil((length_px - overlap_px) / (tile_px - overlap_px)))
    return [round(i * (length_px - tile_px) / (count - 1)) for i in range(count)]


def _drop_contained(boxes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """`order` (best first) without each box that lies `TILE_CONTAINED_FRACTION` or more inside a better kept
    one, or holds one as much inside itself (the same face boxed tighter)."""
    kept: list[int] = []
    for i in order:
        duplicate = any(intersection_area(boxes[i], boxes[k])
                        >= TILE_CONTAINED_FRACTION * max(min(area(boxes[i]), area(boxes[k])), 1e-6) for k in kept)
        if not duplicate:
            kept.append(int(i))
    return np.array(kept, dtype=int)


class FaceDetector:
    """Finds faces in BGR frames. `weights`: an .onnx file (a .pt only with `trust_checkpoint`); None = shipped.

    Frames whose longer side exceeds `tile_above_px` are also searched in overlapping square tiles: on a
    1920x960 grid of 50 faces the whole frame gave 25-33 faces at any input size from 320 to 1920 px,
    the tiles 49-50 (see `_predict_tiled`). Smaller frames run once, as before. Issue 19 found most of
    that loss in the ONNX path's NMS (candidates capped before suppression, `onnx_yolo.nms_keep`): since
    the fix the whole frame alone finds all 50 at 320 px; the tiles stay until a bench weighs their cost.
    """

    def __init__(self, weights: str | Path | None = None, confidence: float = AppConfig.detection_confidence,
                 iou: float = AppConfig.detection_iou, imgsz_px: int = AppConfig.detector_imgsz_px,
                 max_faces: int = AppConfig.max_faces, threads: int = AppConfig.threads, trust_checkpoint: bool = False,
                 tile_above_px: int = AppConfig.detector_tile_above_px):
        self.weights = Path(weights) if weights else default_detector_weights()
        self.confidence, self.iou, self.imgsz_px, self.max_faces = confidence, iou, imgsz_px, max_faces
        self.tile_above_px = tile_above_px
        self.threads = threads or os.cpu_count() or 1
        check_detector_file(self.weights, trust_checkpoint)
        self._onnx = None
        try:
            if self.weights.suffix.lower() == SAFE_SUFFIX:
                self._onnx = OnnxYolo(self.weights, imgsz_px, self.threads)
            else:
                import_ultralytics()  # imports torch first (runtime.py); the ONNX path needs neither
                from ultralytics import YOLO
                self._model = YOLO(str(self.weights), task="detect")
            self._predict(np.zeros((64, 64, 3), np.uint8))  # loads the backend now, not on the first frame
        except ModuleNotFoundError as exc:   # a .pt on the app's own install, which leaves torch out: the file is fine
            raise WeightsError(missing_package_message(self.weights, exc, "python -m detection.export")) from exc
        except Exception as exc:  # noqa: BLE001 - any load failure means unusable weights
            raise WeightsError(f"The face-detector weights at {self.weights} could not be loaded ({exc}): "
                               f"restore the file or {TRAIN_HINT}.") from exc
        if self._onnx is None:
            import_torch().set_num_threads(self.threads)  # ultralytics drops torch to cpu_count-1 threads

    def _predict(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._onnx is not None:
            return self._onnx.predict(frame_bgr, self.confidence, self.iou, self.max_faces)
        boxes = self._model.predict(frame_bgr, imgsz=self.imgsz_px, conf=self.confidence, iou=self.iou,
                                    max_det=self.max_faces, verbose=False, device="cpu")[0].boxes
        if boxes is None or len(boxes) == 0:
            return np.zeros((0, 4)), np.zeros(0)
        return boxes.xyxy.cpu().numpy().astype(float), boxes.conf.cpu().numpy().astype(float)

    def _predict_tiled(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The whole frame (large faces) plus square tiles as tall as the frame's shorter side (crowds).

        Why tiles: the model, trained on scenes of up to about ten faces, finds only part of a crowd when
        the crowd fills one input, whatever its size; a third of the crowd per input it finds whole.
        A tile's box that touches an inner tile edge is a cut face and is dropped: the overlap (a quarter
        tile) holds it whole in the neighbour, and a face larger than that comes from the whole frame.
        """
        h, w = frame_bgr.shape[:2]
        side = min(h, w)
        overlap = int(side * TILE_OVERLAP_FRACTION)
        whole_boxes, whole_scores = self._predict(frame_bgr)
        boxes, scores = [whole_boxes], [whole_scores]
        for top in tile_starts(h, side, overlap):
            for left in tile_starts(w, side, overlap):
                tile_boxes, tile_scores = self._predict(frame_bgr[top:top + side, left:left + side])
                cut = (((tile_boxes[:, 0] < TILE_EDGE_MARGIN_PX) & (left > 0))
                       | ((tile_boxes[:, 1] < TILE_EDGE_MARGIN_PX) & (top > 0))
                       | ((tile_boxes[:, 2] > side - TILE_EDGE_MARGIN_PX) & (left + side < w))
                       | ((tile_boxes[:, 3] > side - TILE_EDGE_MARGIN_PX) & (top + side < h)))
                boxes.append(tile_boxes[~cut] + [left, top, left, top])
                scores.append(tile_scores[~cut])
        all_boxes, all_scores = np.concatenate(boxes).reshape(-1, 4), np.concatenate(scores)
        if not len(all_boxes):
            return all_boxes, all_scores
        xywh = xyxy_to_xywh(all_boxes)
        # no cap in the NMS: duplicates are dropped first, then the best max_faces kept
        keep = _drop_contained(all_boxes, nms_keep(xywh, all_scores, self.confidence, self.iou, len(all_boxes)))
        keep = keep[:self.max_faces]
        return all_boxes[keep], all_scores[keep]

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        """Faces in one frame, best first; any size, grey, BGRA or 16-bit frames are accepted."""
        frame = to_bgr(frame_bgr)
        tiled = self.tile_above_px and max(frame.shape[:2]) > self.tile_above_px
        xyxy, scores = self._predict_tiled(frame) if tiled else self._predict(frame)
        order = np.argsort(-scores)
        return [Face(box=tuple(float(v) for v in xyxy[i]), score=float(scores[i])) for i in order]
