"""Bad input to the classifier's training and evaluation tools: one line saying what to do, nothing overwritten."""
import pytest

from core.cli import run_tool
from core.errors import WeightsError


@pytest.mark.parametrize("flags", [["--lr", "nan"], ["--batch", "0"], ["--epochs", "-3"], ["--steps-per-epoch", "0"],
                                   ["--init", "/no/such/last.keras"], ["--precision", "float16"]])
def test_train_refuses_nonsense_before_loading_anything(flags, capsys):
    from classification.train import parse_args
    with pytest.raises(SystemExit) as exit_:
        parse_args(flags)
    assert exit_.value.code == 2
    assert "error: " in capsys.readouterr().err.strip().splitlines()[-1]


def test_a_file_that_is_not_a_keras_checkpoint_is_named_not_called_missing(tmp_path):
    from classification.model import load_checkpoint
    fake = tmp_path / "text.keras"
    fake.write_text("not a zip archive")
    with pytest.raises(WeightsError, match="could not be loaded as a Keras checkpoint"):
        load_checkpoint(fake)
    with pytest.raises(WeightsError, match="No checkpoint at"):
        load_checkpoint(tmp_path / "missing.keras")


def test_a_file_that_is_not_tflite_says_so(tmp_path):
    from classification.from_tflite import _interpreter
    fake = tmp_path / "text.tflite"
    fake.write_text("hello")
    with pytest.raises(WeightsError, match="is not a TFLite model"):
        _interpreter(fake)


def test_evaluate_without_faces_fails_instead_of_writing_empty_metrics(tmp_path, capsys):
    from classification.evaluate import main
    out = tmp_path / "eval"
    code = run_tool(main, ["--datasets", str(tmp_path / "none"), "--extra", str(tmp_path / "none"), "--cache",
                           str(tmp_path), "--speed-runs", "0", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "no dataset folder at" in capsys.readouterr().err   # the fetched data alone is never read
    (tmp_path / "empty").mkdir()
    code = main(["--datasets", str(tmp_path / "empty"), "--extra", str(tmp_path / "none"), "--cache", str(tmp_path),
                 "--speed-runs", "0", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "no held-out faces under" in capsys.readouterr().err


def test_evaluate_keeps_an_existing_metrics_file_unless_told(tmp_path, capsys):
    from classification.evaluate import main
    kept = tmp_path / "metrics.json"
    kept.write_text("{}")
    assert run_tool(main, ["--write-metrics", str(kept), "--datasets", str(tmp_path / "none")]) == 2
    assert "already there" in capsys.readouterr().err and kept.read_text() == "{}"


def test_cache_takes_only_an_onnx_detector_and_checks_numbers(tmp_path, capsys):
    from classification.cache import main
    from core.cli import run_tool
    evil = tmp_path / "evil.pt"
    evil.write_bytes(b"x" * 4096)
    assert run_tool(main, ["--detector", str(evil), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give an .onnx file" in err and "detection.export" in err
    assert "--trust-checkpoints" not in err   # a flag this tool does not have
    assert not (tmp_path / "c").exists()
    assert run_tool(main, ["--detector", str(tmp_path / "missing.onnx"), "--out", str(tmp_path / "c")]) == 2
    assert "No face-detector weights at" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--workers", "-3", "--out", str(tmp_path / "c")])


def test_gate_names_stay_inside_their_folders(tmp_path):
    from classification.gate import main
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path), "--name", "../../escape", "--val-base", "x", "--test-base", "y"])
    assert exit_.value.code == 2
