"""All tunable settings of the app in one dataclass: the GUI persists it, the CLI fills it, tests vary it."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from runtime import REPO_ROOT

WEIGHTS_DIR = REPO_ROOT / "weights"
CROP_SCALE_RANGE = (1.0, 2.0)  # the face-extraction slider, multiples of the detected box's longer side
CONFIDENCE_RANGE = (0.01, 0.99)  # detection confidence the app accepts


@dataclass
class AppConfig:
    detector_weights: Path | None = None        # None: weights/face_detector.onnx
    classifier_weights: Path | None = None      # None: weights/age_gender.tflite
    trust_checkpoints: bool = False             # allow .pt/.keras weights, which can run code when loaded
    detector_imgsz_px: int = 320                # YOLO input size; 320 keeps a 2-core frame budget
    detector_tile_above_px: int = 1280          # larger frames are also searched in tiles (crowds); 0: never
    detection_confidence: float = 0.35          # minimum detector score shown
    detection_iou: float = 0.5                  # NMS overlap threshold
    max_faces: int = 100
    crop_scale: float = 1.2                     # face-extraction size, see CROP_SCALE_RANGE; chosen by classification.evaluate (model card)
    classify_every_n_frames: int = 6            # a tracked face is re-classified this often
    max_classifications_per_frame: int = 4      # spreads the classifier's work over frames
    smoothing: bool = True                      # per-track probability smoothing + label hysteresis
    smoothing_alpha: float = 0.05               # weight of a new classification in the running mean (plain mean of the first 1/alpha before)
    label_switch_margin: float = 0.15           # a new label must beat the shown one by this much
    settle_classifications: int = 3             # a new face's first label: mean of this many back-to-back runs
    track_iou_threshold: float = 0.3
    confirm_hits: int = 3                       # a face is shown after this many consecutive detections
    scene_cuts: bool = True                     # a hard cut ends every track (new ids, fresh smoothing)
    realtime: bool = True                       # False for files: no classification budget, no unlabelled rows
    track_max_missed_frames: int = 10           # a track survives this many frames without a detection
    threads: int = 0                            # CPU threads for the models (0: all cores)

    def clamp(self) -> "AppConfig":
        """Bring user-supplied values back into range instead of failing on them."""
        self.crop_scale = min(max(float(self.crop_scale), CROP_SCALE_RANGE[0]), CROP_SCALE_RANGE[1])
        self.detection_confidence = min(max(float(self.detection_confidence), CONFIDENCE_RANGE[0]), CONFIDENCE_RANGE[1])
        self.classify_every_n_frames = max(1, int(self.classify_every_n_frames))
        self.max_classifications_per_frame = max(1, int(self.max_classifications_per_frame))
        self.settle_classifications = max(1, int(self.settle_classifications))
        self.confirm_hits = max(1, int(self.confirm_hits))
        return self

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
