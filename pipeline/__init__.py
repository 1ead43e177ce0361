"""The Qt-free frame pipeline, composing the models: `FaceAnalyzer(crop_scale=1.4).analyze(frame) -> [Face]`.

`AppConfig`, `Face` and `square_crop` live in `core` (the shared vocabulary) and are re-exported here for
the Python API's one import line."""
from core.config import AppConfig
from core.crop import square_crop
from core.face import Face
from pipeline.analyzer import FaceAnalyzer

__all__ = ["AppConfig", "Face", "FaceAnalyzer", "square_crop"]
