"""`FaceDetector`: the project's own one-class YOLO model behind a two-method API."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pipeline.errors import WeightsError
from pipeline.face import Face
from pipeline.images import to_bgr
from runtime import REPO_ROOT, import_torch, import_ultralytics

DEFAULT_WEIGHTS = REPO_ROOT / "weights" / "face_detector.onnx"
SAFE_SUFFIX = ".onnx"          # a graph of tensors: loading it runs no code from the file
CHECKPOINT_SUFFIX = ".pt"      # a pickle: loading it runs whatever code the file holds
TRAIN_HINT = "train one with `python -m detection.train` and export it with `python -m detection.export` " \
             "(see weights/face_detector.md)"


def default_detector_weights() -> Path:
    return DEFAULT_WEIGHTS


def check_detector_suffix(path: Path, trust_checkpoint: bool) -> None:
    """Refuse, before anything is read, a file whose loading could run code, unless the user vouched for it."""
    suffix = path.suffix.lower()
    if suffix == SAFE_SUFFIX or (suffix == CHECKPOINT_SUFFIX and trust_checkpoint):
        return
    if suffix == CHECKPOINT_SUFFIX:
        raise WeightsError(f"{path.name} is a PyTorch checkpoint, which can run code when loaded: export it to "
                           f"ONNX with `python -m detection.export {path} --out-dir {path.parent} --name "
                           f"{path.stem}_app`, or pass --trust-checkpoints if you "
                           f"made the file yourself.")
    raise WeightsError(f"{path.name} is not a face-detector file: pass an .onnx file "
                       f"(`python -m detection.export` makes one).")


class FaceDetector:
    """Finds faces in BGR frames. `weights`: an .onnx file (a .pt only with `trust_checkpoint`); None = shipped."""

    def __init__(self, weights: str | Path | None = None, confidence: float = 0.35, iou: float = 0.5,
                 imgsz_px: int = 320, max_faces: int = 100, threads: int = 0, trust_checkpoint: bool = False):
        self.weights = Path(weights) if weights else default_detector_weights()
        self.confidence, self.iou, self.imgsz_px, self.max_faces = confidence, iou, imgsz_px, max_faces
        self.threads = threads or os.cpu_count() or 1
        check_detector_suffix(self.weights, trust_checkpoint)
        if not self.weights.is_file():
            raise WeightsError(f"No face-detector weights at {self.weights}: restore the file "
                               f"(`git checkout -- weights/`) or {TRAIN_HINT}.")
        if self.weights.stat().st_size < 1024:
            raise WeightsError(f"The face-detector weights at {self.weights} are damaged (too small; a Git LFS "
                               f"pointer?): restore the file or {TRAIN_HINT}.")
        self._onnx = None
        try:
            if self.weights.suffix.lower() == SAFE_SUFFIX:
                from detection.onnx_yolo import OnnxYolo
                self._onnx = OnnxYolo(self.weights, imgsz_px, self.threads)
            else:
                import_ultralytics()  # imports torch first (runtime.py); the ONNX path needs neither
                from ultralytics import YOLO
                self._model = YOLO(str(self.weights), task="detect")
            self._predict(np.zeros((64, 64, 3), np.uint8))  # loads the backend now, not on the first frame
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

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        """Faces in one frame, best first; any size, grey, BGRA or 16-bit frames are accepted."""
        xyxy, scores = self._predict(to_bgr(frame_bgr))
        order = np.argsort(-scores)
        return [Face(box=tuple(float(v) for v in xyxy[i]), score=float(scores[i])) for i in order]
