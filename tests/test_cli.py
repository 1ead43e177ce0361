"""The shared command-line helpers: numbers that say their range, files kept, one-line refusals."""
import argparse

import pytest

from core.cli import OneLineParser, number_in, positive, refuse_existing, run_tool
from core.errors import WeightsError
from tests.conftest import ROOT


def test_positive_refuses_zero_negative_nan_and_words():
    assert positive(int)("3") == 3 and positive()("1e-4") == pytest.approx(1e-4)
    for text in ("0", "-3", "nan", "inf", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive()(text)
    with pytest.raises(argparse.ArgumentTypeError, match="not an integer"):
        positive(int)("2.5")


def test_number_in_names_its_range():
    assert number_in(1.0, 2.0)("1.5") == 1.5
    with pytest.raises(argparse.ArgumentTypeError, match="outside 1-2"):
        number_in(1.0, 2.0)("2.5")
    with pytest.raises(argparse.ArgumentTypeError, match="nan is not a number: give one within 1-2"):
        number_in(1.0, 2.0)("nan")   # it said 'nan is outside 1-2'


def test_refuse_existing_keeps_a_file_unless_told(tmp_path):
    target = tmp_path / "weights.onnx"
    refuse_existing(target, overwrite=False)          # nothing there: fine
    target.write_text("x")
    with pytest.raises(FileExistsError, match="already there .a file. and was kept.*--overwrite"):
        refuse_existing(target, overwrite=False)
    refuse_existing(target, overwrite=True)


def test_run_tool_turns_bad_input_into_one_line_and_keeps_bugs_loud(tmp_path, capsys):
    def missing(argv):
        open(tmp_path / "nope.yaml")

    assert run_tool(missing) == 2
    assert capsys.readouterr().err == f"error: No such file or directory: {tmp_path / 'nope.yaml'} (check the path, or see --help)\n"

    def weights(argv):
        raise WeightsError("No detector at x: train one with `python -m detection.train`.")

    assert run_tool(weights) == 2
    assert capsys.readouterr().err.startswith("error: No detector at x")

    def bug(argv):
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        run_tool(bug)


def test_a_tool_refusal_is_one_line_naming_the_module_command(monkeypatch, capsys):
    import sys
    import types
    tool = types.ModuleType("__main__")
    tool.__spec__ = types.SimpleNamespace(name="classification.compare")   # as under `python -m`
    monkeypatch.setitem(sys.modules, "__main__", tool)
    parser = OneLineParser(prog="compare.py")
    parser.add_argument("candidate")
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args([])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("error: the following arguments are required: candidate "
                                       "(see `python -m classification.compare --help`)\n")
    monkeypatch.setattr(sys, "argv", ["/repo/classification/compare.py"])
    assert OneLineParser().prog == "python -m classification.compare"   # --help's usage line names it too


def test_the_demo_clip_maker_without_datasets_is_one_line_and_writes_nothing(tmp_path, capsys):
    """It used to end in a FileNotFoundError traceback from the FairFace label file."""
    from demo import make_demo_clip
    before = (ROOT / "demo" / "demo_faces.mp4").stat().st_mtime_ns
    assert make_demo_clip.main(["--datasets", str(tmp_path)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: no fairface/fairface_label_train.csv") and "--datasets" in err[0]
    assert (ROOT / "demo" / "demo_faces.mp4").stat().st_mtime_ns == before


@pytest.mark.skipif(not (ROOT.parent / "shared" / "datasets" / "fairface" / "fairface_label_train.csv").is_file(),
                    reason="../shared/datasets is not present")
def test_the_demo_clip_maker_keeps_the_tracked_clip_and_fixtures_unless_told(capsys):
    from core.cli import run_tool
    from demo import make_demo_clip
    before = (ROOT / "demo" / "demo_faces.mp4").stat().st_mtime_ns
    assert run_tool(make_demo_clip.main, ["--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert "demo_faces.mp4 is already there" in err and "--overwrite" in err
    assert (ROOT / "demo" / "demo_faces.mp4").stat().st_mtime_ns == before


def test_outputs_that_cannot_be_written_are_found_before_the_work(tmp_path):
    import os

    from core.cli import check_writable, check_writable_folder
    from core.errors import OutputError
    check_writable(tmp_path / "m.json", overwrite=False)
    check_writable_folder(tmp_path / "new" / "deeper")        # made later, inside a writable folder
    (tmp_path / "taken").write_text("x")
    with pytest.raises(FileExistsError):
        check_writable(tmp_path / "taken", overwrite=False)
    with pytest.raises(OutputError, match="is a file"):
        check_writable_folder(tmp_path / "taken" / "sub")
    with pytest.raises(OutputError, match="no folder"):
        check_writable(tmp_path / "missing" / "m.json", overwrite=False)
    if os.geteuid() != 0:                                      # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(OutputError, match="not writable"):
            check_writable(locked / "m.json", overwrite=False)


def test_evaluate_refuses_scales_off_the_slider_before_loading_anything(tmp_path, capsys):
    from classification.evaluate import main
    for scales in ("0", "5", "nan", "1.0,2.5"):
        assert main(["--scales", scales, "--out", str(tmp_path / "e")]) == 2
        assert "slider's 1.0-2.0" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_ctrl_c_in_a_tool_is_one_line_and_status_130(capsys):
    from core.cli import run_tool

    def interrupted(argv):
        raise KeyboardInterrupt
    assert run_tool(interrupted, []) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("interrupted (Ctrl-C)")


def test_evaluate_keeps_an_earlier_evaluation_in_its_out_folder(tmp_path, capsys):
    from classification.evaluate import main
    from core.cli import run_tool
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "metrics.json").write_text("{}")
    assert run_tool(main, ["--out", str(tmp_path / "e")]) == 2
    assert "metrics.json is already there" in capsys.readouterr().err
    assert (tmp_path / "e" / "metrics.json").read_text() == "{}"


def test_signals_the_process_was_started_to_ignore_stay_ignored():
    """Under `nohup` SIGHUP is ignored from the start: the run used to end (exit 129) when the terminal closed
    all the same, because the handler for a polite stop replaced the ignore."""
    import signal

    from core.cli import EXIT_SIGNALS, catch_exit_signals
    if not hasattr(signal, "SIGHUP"):
        pytest.skip("no SIGHUP on this platform")
    def handler(*_):
        pass
    before = {sig: signal.getsignal(sig) for sig in EXIT_SIGNALS}
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        replaced = catch_exit_signals(handler)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN and signal.SIGHUP not in replaced
        assert signal.getsignal(signal.SIGTERM) is handler and signal.SIGTERM in replaced
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)


@pytest.mark.parametrize("flag", ["--output", "--results", "--summary"])
def test_an_empty_output_name_is_refused_before_the_run(flag):
    """`--output ""` (an unset shell variable) used to analyse the whole input and save nothing."""
    import subprocess
    import sys
    run = subprocess.run([sys.executable, "main.py", "--headless", "--source", "nowhere.mp4", flag, ""], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1 and f"argument {flag}: an empty name" in lines[0], run.stderr
