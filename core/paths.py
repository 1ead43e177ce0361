"""Where the project's files are: one owner for every folder path that more than one module needs.

The app runs from its checkout (`pip install -e .` keeps it there), so the weights, the demo clip and
the git-ignored working folders are found beside the code. The datasets live in the shared, read-only
folder next to the checkout (`../shared/datasets`, see its README); nothing at run time needs them.
"""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
WEIGHTS_DIR = REPO_ROOT / "weights"
DEFAULT_DETECTOR_WEIGHTS = WEIGHTS_DIR / "face_detector.onnx"
DEFAULT_CLASSIFIER_WEIGHTS = WEIGHTS_DIR / "age_gender.tflite"
DEMO_CLIP = REPO_ROOT / "demo" / "demo_faces.mp4"
DATASETS_DIR = REPO_ROOT.parent / "shared" / "datasets"   # training and evaluation only
DATA_DIR = REPO_ROOT / "data"                               # fetched training data (git-ignored)
EXTRA_DATA_DIR = DATA_DIR / "extra"                         # fetched per ../shared/datasets/MORE_DATA.md
DATA_CACHE_DIR = REPO_ROOT / "data_cache"                   # decoded training data (git-ignored)
FACE_CACHE_DIR = DATA_CACHE_DIR / "faces_v2"                # the classifier's decoded faces (classification.cache)
RUNS_DIR = REPO_ROOT / "runs"                               # checkpoints, logs, evaluation output (git-ignored)
EVAL_DIR = RUNS_DIR / "eval"                                # evaluation output of both models
DETECTOR_COMPOSITES_DIR = DATA_CACHE_DIR / "detector"       # the detector's first training set (detection.composites)
