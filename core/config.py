"""Every setting of the app in one place: its default, the range it is held to, and whether the GUI
remembers it. The CLI fills an `AppConfig`, the GUI persists it (`gui.settings`), the analyzer runs on it,
tests vary it, and training reads the face-extraction range and default from here instead of restating them.

A setting changes through `AppConfig.changed(**values)`, which returns a new, clamped config: whoever
holds the config (the window, the analyzer) takes the new one; nobody keeps a second copy to sync.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

# The face-extraction size: the square the classifier sees, in multiples of the detected box's longer
# side. The default is where the classifier measured best (classification.evaluate, model card); the
# range is the toolbar slider's, which training covers and the face cache holds (classification.cache).
DEFAULT_CROP_SCALE = 1.4
CROP_SCALE_RANGE = (1.0, 2.0)
DEFAULT_CONFIDENCE = 0.35
CONFIDENCE_RANGE = (0.01, 0.99)          # what the CLI accepts
CONFIDENCE_SLIDER_RANGE = (0.05, 0.95)   # what the toolbar slider offers


def _setting(default, low=None, high=None, *, persist: bool = False, slider: tuple | None = None):
    """A field with its range (None: unbounded on that side) and whether the GUI remembers it."""
    return field(default=default, metadata={"range": (low, high), "persist": persist,
                                            "slider": slider or (low, high)})


@dataclass
class AppConfig:
    detector_weights: Path | None = None        # None: weights/face_detector.onnx
    classifier_weights: Path | None = None      # None: weights/age_gender.tflite
    trust_checkpoints: bool = False             # allow .pt/.keras weights, which can run code when loaded
    detector_imgsz_px: int = 384                # YOLO input size; 384 with the int8 file keeps a 2-core frame budget (weights/face_detector.md)
    detector_tile_above_px: int = 1280          # larger frames are also searched in tiles (crowds); 0: never
    detection_confidence: float = _setting(DEFAULT_CONFIDENCE, *CONFIDENCE_RANGE, persist=True,
                                           slider=CONFIDENCE_SLIDER_RANGE)  # minimum detector score shown
    detection_iou: float = 0.5                  # NMS overlap threshold
    max_faces: int = 100
    crop_scale: float = _setting(DEFAULT_CROP_SCALE, *CROP_SCALE_RANGE, persist=True)  # face-extraction size
    classify_every_n_frames: int = _setting(6, 1)            # a tracked face is re-classified this often
    max_classifications_per_frame: int = _setting(4, 1)      # spreads the classifier's work over frames
    smoothing: bool = _setting(True, persist=True)           # per-track probability smoothing + label hysteresis
    smoothing_alpha: float = 0.05               # weight of a new classification in the running mean (plain mean of the first 1/alpha before)
    label_switch_margin: float = 0.15           # a new label must beat the shown one by this much
    unsure_band_prob: float = _setting(0.15, 0.0, 0.5)  # an answered part turns "?" only this far below its threshold (pipeline.tracker)
    settle_classifications: int = _setting(3, 1)  # a new face's first label: mean of this many back-to-back runs
    track_iou_threshold: float = 0.3
    confirm_hits: int = _setting(3, 1)          # a face is shown after this many consecutive detections
    scene_cuts: bool = True                     # a hard cut ends every track (new ids, fresh smoothing)
    realtime: bool = True                       # False for files: no classification budget, no unlabelled rows
    track_max_missed_frames: int = 10           # a track survives this many frames without a detection
    threads: int = 0                            # CPU threads for the models (0: all cores)

    def clamp(self) -> "AppConfig":
        """Bring user-supplied values back into their ranges instead of failing on them (in place)."""
        for f in fields(self):
            low, high = f.metadata.get("range", (None, None))
            if low is None and high is None:
                continue
            value = getattr(self, f.name)
            if isinstance(value, float) and math.isnan(value):   # max/min would pass NaN through every bound
                raise ValueError(f"{f.name} must be a number, not NaN")
            try:
                value = int(value) if f.type == "int" else float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{f.name} must be a number, not {value!r}") from None
            if low is not None:
                value = max(value, low)
            if high is not None:
                value = min(value, high)
            setattr(self, f.name, value)
        return self

    def changed(self, **values) -> "AppConfig":
        """A new config with these settings changed and clamped; an unknown name is a TypeError."""
        return replace(self, **values).clamp()


def _field(name: str):
    return next(f for f in fields(AppConfig) if f.name == name)


def setting_range(name: str) -> tuple:
    """(low, high) of a setting; None on a side without a bound."""
    return _field(name).metadata.get("range", (None, None))


def slider_range(name: str) -> tuple:
    """The part of a setting's range that the GUI's slider offers."""
    return _field(name).metadata.get("slider", setting_range(name))


PERSISTED_SETTINGS = tuple(f.name for f in fields(AppConfig) if f.metadata.get("persist"))
