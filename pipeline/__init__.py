"""The Qt-free frame pipeline: `FaceAnalyzer(crop_scale=1.2).analyze(frame) -> [Face]`."""
from core.config import AppConfig
from core.crop import square_crop
from core.face import Face
from pipeline.analyzer import FaceAnalyzer

__all__ = ["AppConfig", "Face", "FaceAnalyzer", "square_crop"]
