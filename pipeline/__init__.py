"""The Qt-free frame pipeline: `FaceAnalyzer(crop_scale=1.2).analyze(frame) -> [Face]`."""
from pipeline.analyzer import FaceAnalyzer
from pipeline.config import AppConfig
from pipeline.crop import square_crop
from pipeline.face import Face

__all__ = ["AppConfig", "Face", "FaceAnalyzer", "square_crop"]
