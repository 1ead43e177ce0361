"""Face detection: `FaceDetector(weights=None).detect(frame_bgr) -> list[Face]`."""
from detection.detector import FaceDetector, default_detector_weights

__all__ = ["FaceDetector", "default_detector_weights"]
