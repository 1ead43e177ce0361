"""The two stack facts the app depends on, tested in fresh interpreters (import state is per process)."""
import subprocess
import sys

from tests.conftest import ROOT


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240)


def test_tensorflow_is_only_imported_after_torch_and_torchvision():
    code = (
        "import sys, runtime\n"
        "runtime.import_tensorflow()\n"
        "order = list(sys.modules)\n"
        "print(order.index('torchvision') < order.index('tensorflow'), order.index('torch') < order.index('tensorflow'))\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["True", "True"]


def test_project_code_never_imports_tensorflow_directly():
    offenders = []
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or path.name == "runtime.py" or "tests" in path.parts:
            continue
        text = path.read_text()
        if "import tensorflow" in text or "from tensorflow" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_ultralytics_is_offline_and_app_import_pulls_no_tensorflow():
    code = (
        "import os, sys, runtime\n"
        "runtime.import_ultralytics()\n"
        "from ultralytics.utils import SETTINGS, ONLINE\n"
        "import main, pipeline.analyzer, detection, classification\n"
        "print(os.environ['YOLO_OFFLINE'], SETTINGS['sync'], 'tensorflow' in sys.modules)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-3:] == ["1", "False", "False"]


def test_yolo_predict_after_tensorflow_does_not_crash(tiny_detector_weights):
    """The segfault in the stack notes: YOLO predict in a process that has loaded TensorFlow."""
    code = (
        "import numpy as np, runtime\n"
        "tf = runtime.import_tensorflow()\n"
        "from detection import FaceDetector\n"
        f"d = FaceDetector(r'{tiny_detector_weights}', trust_checkpoint=True)\n"
        "print('faces', len(d.detect(np.zeros((480, 640, 3), np.uint8))))\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "faces" in result.stdout


def test_default_onnx_detector_needs_neither_torch_nor_tensorflow(tiny_onnx_detector_weights):
    """Start-up time: torch alone costs seconds to import, and the ONNX path never needs it."""
    code = (
        "import sys, numpy as np, runtime\n"
        "runtime.configure_environment()\n"
        "from detection import FaceDetector\n"
        f"d = FaceDetector(r'{tiny_onnx_detector_weights}')\n"
        "d.detect(np.zeros((480, 640, 3), np.uint8))\n"
        "print('torch' in sys.modules, 'tensorflow' in sys.modules)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["False", "False"]
