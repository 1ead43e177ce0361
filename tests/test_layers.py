"""The floors hold: imports flow one way (core <- models <- pipeline <- gui/CLI), and the app's runtime
imports no training code and none of torch, TensorFlow or ultralytics (the lean install lacks them)."""
import ast
import subprocess
import sys

from tests.conftest import ROOT

PROJECT = {"core", "facedata", "detection", "classification", "pipeline", "gui", "bench", "demo", "main", "runtime", "tests"}
# what the app runs; everything else in detection/ and classification/ is training, export or evaluation.
# classification.model: the app's --trust-checkpoints path loads a .keras file through its load_checkpoint
# (TensorFlow imported only there, as for the app's .tflite path)
RUNTIME_MODULES = {"detection", "detection.detector", "detection.onnx_yolo",
                   "classification", "classification.classifier", "classification.model"}
FLOORS = {  # package -> project packages its run-time modules may import
    "core": {"core"},
    "detection": {"core", "runtime", "detection"},
    "classification": {"core", "runtime", "classification"},
    "pipeline": {"core", "detection", "classification", "pipeline"},
    "gui": {"core", "pipeline", "gui"},
    "runtime": {"core"},
}


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path) -> set[str]:
    """Every project module the file imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
        found.update(n for n in names if n.split(".")[0] in PROJECT)
    return found


def runtime_files():
    for package in ("core", "pipeline", "gui"):
        yield from sorted((ROOT / package).glob("*.py"))
    yield ROOT / "runtime.py"
    for name in RUNTIME_MODULES:
        yield ROOT / (name.replace(".", "/") + ("/__init__.py" if "." not in name else ".py"))


def test_imports_flow_down_the_floors():
    wrong = []
    for path in runtime_files():
        module = module_name(path)
        allowed = FLOORS[module.split(".")[0]]
        for imported in project_imports(path):
            top = imported.split(".")[0]
            if top not in allowed:
                wrong.append(f"{module} imports {imported}")
            elif top in ("detection", "classification") and imported not in RUNTIME_MODULES:
                wrong.append(f"{module} imports the training-side module {imported}")
    assert not wrong, wrong


def test_the_app_imports_no_training_stack():
    code = ("import sys, main, pipeline, pipeline.headless, pipeline.session, gui.app, gui.main_window; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'ultralytics', 'keras', 'yaml', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_the_two_models_training_tools_share_datasets_without_importing_each_other():
    """Both read faces and the fixed split from facedata (which needs only core); classification's tools may
    use the detector the app runs (crops around its boxes), never detection's tools, and detection's tools
    import nothing from classification."""
    wrong = []
    for path in sorted((ROOT / "facedata").glob("*.py")):
        wrong += [f"{module_name(path)} imports {i}" for i in project_imports(path) if i.split(".")[0] != "core"]
    for path in sorted((ROOT / "detection").glob("*.py")):
        wrong += [f"{module_name(path)} imports {i}" for i in project_imports(path) if i.startswith("classification")]
    for path in sorted((ROOT / "classification").glob("*.py")):
        wrong += [f"{module_name(path)} imports {i}" for i in project_imports(path)
                  if i.startswith("detection") and i not in RUNTIME_MODULES]
    assert not wrong, wrong
