"""What the classifier's training augmentation draws, in one table that both trainers read.

`classification.train` augments in TensorFlow on the CPU and `classification.train_gpu` in torch on a lent
GPU: two frameworks, so two functions, but one set of ranges, so that a stage trained on either machine
sees the same crops. Each range imitates something the app meets at run time (see the model card's stage 7
recipe): a face from a webcam or a video file under other lighting, at any face-extraction size of the
slider, a little off the detector's centre, mirrored, in black and white, or small and upsampled.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.config import CROP_SCALE_RANGE

# The largest slider scale a source's faces are cut at in training. UTKFace's aligned chips hold little
# beyond the face, so past 1.5 their crop is mostly the black padding the app never shows; FairFace and
# All-Age-Faces have real context and cover the slider's whole range.
MAX_TRAIN_SCALE_BY_SOURCE = {"utkface": 1.5, "fairface": CROP_SCALE_RANGE[1], "aaf": CROP_SCALE_RANGE[1]}


@dataclass(frozen=True)
class AugmentRanges:
    """Ranges are (low, high) of a uniform draw per face; rates are the share of faces a change is applied to."""

    gain: tuple[float, float] = (0.6, 1.4)                   # brightness: pixel values times this
    shift_levels: tuple[float, float] = (-30.0, 30.0)        # brightness: plus this, in 0-255 levels
    contrast: tuple[float, float] = (0.7, 1.3)               # distance from the face's mean level, times this
    saturation: tuple[float, float] = (0.6, 1.4)             # distance from grey, times this
    grey_rate: float = 0.1                                   # black-and-white footage
    centre_jitter_of_half_side: float = 0.08                 # the crop's centre moves up to this share of its half side
    flip_rate: float = 0.5
    low_res_rate: float = 0.2                                # a small face upsampled to the input size (blurred)
    low_res_min_px: int = 32                                 # the smallest webcam face it imitates


AUGMENT = AugmentRanges()
