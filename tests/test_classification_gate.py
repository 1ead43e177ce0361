"""`classification.gate`: the session-19 gate as one resumable command (no model is trained or run here)."""
from __future__ import annotations

import json

from classification import compare, gate


def _metrics(path, utk_children, aaf_gender):
    by_scale = {s: {"utkface": {"faces": 10, "exact_acc": 0.7, "one_off_acc": 0.95, "children_exact_acc": utk_children,
                                "gender_acc": 0.92},
                    "aaf": {"faces": 10, "gender_acc": aaf_gender, "one_off_acc": 0.9}} for s in ("1.0", "1.2")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"by_scale": by_scale}))
    return path


def test_the_better_candidate_with_the_larger_sum_goes_to_test():
    judged = [gate.Judged("last", True, 3.0), gate.Judged("average", True, 4.5)]
    assert gate.choose(judged).name == "average"
    assert gate.choose([gate.Judged("last", False, 9.0), gate.Judged("average", True, 0.5)]).name == "average"
    assert gate.choose([gate.Judged("last", False, 9.0)]) is None  # a large sum does not excuse a lower source


def fake_steps(tmp_path, val_figures: dict):
    """A `step` that writes what each command would: an empty .tflite, or the given validation metrics."""
    ran = []

    def step(command, output, log):
        ran.append(command)
        if output.suffix == ".tflite":
            output.write_bytes(b"")
        else:
            candidate = next(c for c in gate.CANDIDATES if f"val_s9{c}" in str(output))
            _metrics(output, *val_figures[candidate])
    return step, ran


def run_with_both_candidates(tmp_path):
    """A run folder keeping last.keras and average.keras, and the shipped stage's validation metrics."""
    run = tmp_path / "run"
    run.mkdir()
    for c in gate.CANDIDATES:
        (run / f"{c}.keras").write_bytes(b"")
    return run, _metrics(tmp_path / "val_base" / "metrics.json", 0.80, 0.90)


def test_no_candidate_better_on_validation_never_touches_the_test_split(tmp_path):
    run, base = run_with_both_candidates(tmp_path)
    step, ran = fake_steps(tmp_path, {"last": (0.78, 0.95), "average": (0.80, 0.90)})  # a trade; no gain
    assert gate.gate(run, "s9", base, tmp_path / "unused.json", tmp_path / "eval", step=step) is False
    assert [c[0] for c in ran] == ["classification.export", "classification.evaluate"] * 2
    assert all("--split" in c for c in ran if c[0] == "classification.evaluate")   # validation runs only
    assert "utkface children -2.00 points" in (tmp_path / "gate_s9" / "compare_val_last.txt").read_text()


def test_the_chosen_candidate_alone_is_judged_on_test_by_the_band_rule(tmp_path, monkeypatch):
    run, base = run_with_both_candidates(tmp_path)
    step, ran = fake_steps(tmp_path, {"last": (0.81, 0.91), "average": (0.82, 0.93)})   # both better; average more
    rules = []

    def judge(base_path, candidate_path, paired=False, rule="strict"):
        rules.append(rule)
        if rule == "band":  # the test split: per_face.npz files would be read here
            return compare.Judgement("better beyond the 95% band: yes", True, 1.0)
        return compare.judge(base_path, candidate_path, paired, rule)

    def step_with_test(command, output, log):
        if "--split" not in command and command[0] == "classification.evaluate":
            ran.append(command)
            _metrics(output, 0.82, 0.93)
        else:
            step(command, output, log)
    monkeypatch.setattr(gate, "judge", judge)
    assert gate.gate(run, "s9", base, tmp_path / "test_base.json", tmp_path / "eval", step=step_with_test) is True
    assert rules == ["strict", "strict", "band"]
    assert ran[-1][:3] == ["classification.evaluate", "--weights", str(run / "s9average.tflite")]


def test_a_step_whose_output_exists_is_not_run_again(tmp_path, capsys):
    done = tmp_path / "metrics.json"
    done.write_text("{}")
    gate.run_step(["classification.evaluate", "--no-such-flag"], done, tmp_path / "log.txt")  # would fail if run
    assert "kept" in capsys.readouterr().out and not (tmp_path / "log.txt").exists()


def test_missing_bases_are_one_line_errors(tmp_path, capsys):
    assert gate.main([str(tmp_path), "--name", "s9", "--val-base", str(tmp_path / "v.json"),
                      "--test-base", str(tmp_path / "t.json")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_a_kept_output_must_come_from_this_runs_file(tmp_path):
    import os

    import pytest
    checkpoint, tflite = tmp_path / "last.keras", tmp_path / "s9last.tflite"
    checkpoint.write_bytes(b"k")
    gate.check_kept(tflite, checkpoint)                      # nothing there yet: the step runs
    tflite.write_bytes(b"t")
    gate.check_kept(tflite, checkpoint)                      # made after the checkpoint: kept
    os.utime(checkpoint, (tflite.stat().st_mtime + 60,) * 2)  # the run trained on after the export
    with pytest.raises(RuntimeError, match="older than .*last.keras.*new --name"):
        gate.check_kept(tflite, checkpoint)
    metrics = tmp_path / "val" / "metrics.json"
    metrics.parent.mkdir()
    metrics.write_text(json.dumps({"weights": str(tmp_path / "other" / "s9last.tflite")}))
    os.utime(metrics, (tflite.stat().st_mtime + 60,) * 2)
    with pytest.raises(RuntimeError, match="measured .*other.*not .*s9last.tflite"):   # another run's evaluation
        gate.check_kept(metrics, tflite)
    metrics.write_text(json.dumps({"weights": str(tflite)}))
    gate.check_kept(metrics, tflite)


def test_bases_of_the_wrong_split_are_refused_before_any_export(tmp_path, capsys):
    from core.cli import run_tool
    test_base = tmp_path / "s27" / "metrics.json"
    _metrics(test_base, 0.8, 0.9)                       # no "split" line: a test-split file
    (test_base.parent / "per_face.npz").write_bytes(b"")
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.keras").write_bytes(b"")
    argv = [str(run), "--name", "s9", "--val-base", str(test_base), "--test-base", str(test_base),
            "--eval-dir", str(tmp_path / "eval")]
    assert run_tool(gate.main, argv) == 2
    assert "evaluation of the test split; pass the shipped stage's val-split" in capsys.readouterr().err
    assert not (run / "s9last.tflite").exists() and not (tmp_path / "eval").exists()
