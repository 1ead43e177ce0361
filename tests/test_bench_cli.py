"""The benchmark tools' bad input: one `error:` line and a non-zero exit before any work, never a traceback,
never a pickle run without --trust-checkpoints, never a file replaced without --overwrite."""
import pickle

import pytest

from bench import bench, label_thresholds, people_cost, real_clips, replay_overhead, scenecuts, unsure_band
from core.cli import EXIT_BAD_INPUT, run_tool
from core.errors import WeightsError


class Evil:
    """A pickle that, when loaded, creates `marker`: what a .pt file from someone else could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def refused_by_argparse(main, argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


class Stop(WeightsError):
    """Raised by a stand-in model to end a run once the test has seen what it was given."""


@pytest.fixture
def no_analyzer(monkeypatch):
    """bench.main's FaceAnalyzer replaced: records each config it is given, then stops the run."""
    import pipeline.analyzer
    configs = []

    def fake(config, **_):
        configs.append(config)
        raise Stop("stopped by the test")
    monkeypatch.setattr(pipeline.analyzer, "FaceAnalyzer", fake)
    return configs


# 1. a .pt/.keras file runs code when loaded: only with --trust-checkpoints

def test_bench_refuses_a_pickled_detector_without_trust_checkpoints(tmp_path, capsys):
    marker, evil = tmp_path / "ran", tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(Evil(marker)))
    code = run_tool(bench.main, ["--detector", str(evil), "--stability-only", "--skip-startup",
                                 "--out", str(tmp_path / "results.json")])
    assert code == EXIT_BAD_INPUT
    assert "--trust-checkpoints" in one_error_line(capsys)
    assert not marker.exists()
    assert not (tmp_path / "results.json").exists()


def test_bench_trust_checkpoints_is_off_unless_asked(tmp_path, no_analyzer):
    out = str(tmp_path / "results.json")
    assert run_tool(bench.main, ["--stability-only", "--skip-startup", "--out", out]) == EXIT_BAD_INPUT
    assert run_tool(bench.main, ["--stability-only", "--skip-startup", "--out", out,
                                 "--trust-checkpoints"]) == EXIT_BAD_INPUT
    assert [c.trust_checkpoints for c in no_analyzer] == [False, True]


def test_label_thresholds_refuses_a_keras_checkpoint_and_its_advice_is_a_real_flag(tmp_path, capsys, monkeypatch):
    evil = tmp_path / "evil.keras"
    evil.write_bytes(b"PK" + b"\0" * 2000)
    code = run_tool(label_thresholds.main, ["--weights", str(evil), "--out", str(tmp_path / "t.json")])
    assert code == EXIT_BAD_INPUT
    assert "--trust-checkpoints" in one_error_line(capsys)
    import classification
    given = []

    def fake(weights, **kwargs):
        given.append(kwargs)
        raise Stop("stopped by the test")
    monkeypatch.setattr(classification, "AgeGenderClassifier", fake)
    run_tool(label_thresholds.main, ["--weights", str(evil), "--trust-checkpoints", "--out", str(tmp_path / "t.json")])
    run_tool(label_thresholds.main, ["--weights", str(evil), "--out", str(tmp_path / "t.json")])
    assert [g["trust_checkpoint"] for g in given] == [True, False]


# 2. bad weights: one line

@pytest.mark.parametrize("flag", ["--detector", "--classifier"])
def test_bench_missing_weights_is_one_line(tmp_path, capsys, flag):
    missing = tmp_path / ("nope.onnx" if flag == "--detector" else "nope.tflite")
    code = run_tool(bench.main, [flag, str(missing), "--stability-only", "--skip-startup",
                                 "--out", str(tmp_path / "r.json")])
    assert code == EXIT_BAD_INPUT
    assert str(missing) in one_error_line(capsys)


def test_label_thresholds_missing_weights_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.tflite"
    assert run_tool(label_thresholds.main, ["--weights", str(missing), "--out", str(tmp_path / "t.json")]) == 2
    assert str(missing) in one_error_line(capsys)


# 3. a missing --clip or its segment list

def test_bench_missing_clip_or_its_json_is_named(tmp_path, capsys, no_analyzer):
    clip = tmp_path / "clip.mp4"
    assert run_tool(bench.main, ["--clip", str(clip), "--out", str(tmp_path / "r.json")]) == EXIT_BAD_INPUT
    assert f"no clip at {clip}" in one_error_line(capsys)
    clip.write_bytes(b"not really a video")
    assert run_tool(bench.main, ["--clip", str(clip), "--out", str(tmp_path / "r.json")]) == EXIT_BAD_INPUT
    assert "clip.json" in one_error_line(capsys)
    assert no_analyzer == []  # refused before any model was loaded


# 4. cut lists: CLIP:FRAME,FRAME

def test_parse_clip_reads_cuts_and_refuses_anything_else(tmp_path):
    import argparse
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    assert scenecuts.parse_clip(f"{clip}:20, 82") == (clip, [20, 82])
    assert scenecuts.parse_clip(str(clip)) == (clip, [])
    for bad in (f"{clip}:1,x", f"{clip}:-3", ":5"):
        with pytest.raises(argparse.ArgumentTypeError, match="CLIP:FRAME,FRAME"):
            scenecuts.parse_clip(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="no clip at"):
        scenecuts.parse_clip(str(tmp_path / "missing.mp4:3"))


@pytest.mark.parametrize("tool, argv", [(scenecuts.main, ["{clip}:1,x"]), (unsure_band.main, ["{clip}:1,x"]),
                                        (bench.main, ["--real-clip", "{clip}:1,x"])])
def test_a_bad_cut_list_is_an_argparse_error_naming_the_form(tmp_path, capsys, tool, argv):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    err = refused_by_argparse(tool, [a.format(clip=clip) for a in argv], capsys)
    assert "CLIP:FRAME,FRAME" in err and "Traceback" not in err


# 5. outputs already there

def test_real_clips_out_that_is_a_file_is_refused_and_kept(tmp_path, capsys):
    out = tmp_path / "clips"
    out.write_text("mine")
    assert run_tool(real_clips.main, [str(out), "--repos", str(tmp_path)]) == EXIT_BAD_INPUT
    assert "give a folder" in one_error_line(capsys)
    assert out.read_text() == "mine"


def test_bench_keeps_an_existing_out_file_unless_overwrite(tmp_path, capsys, no_analyzer):
    out = tmp_path / "mine.json"
    out.write_text("{}")
    for argv in (["--out", str(out)], ["--out", str(out), "--stability-only"]):
        assert run_tool(bench.main, [*argv, "--skip-startup"]) == EXIT_BAD_INPUT
        assert "--overwrite" in one_error_line(capsys)
    assert no_analyzer == [] and out.read_text() == "{}"
    run_tool(bench.main, ["--out", str(out), "--overwrite", "--skip-startup"])
    assert len(no_analyzer) == 1  # went on to load the models


def test_bench_stability_only_updates_an_existing_results_file(tmp_path):
    out = tmp_path / "results.json"
    out.write_text('{"segments": [{"faces": 1}], "stability": []}')
    kept = bench.kept_results(out, explicit=True, overwrite=False, stability_only=True)
    assert kept["segments"] == [{"faces": 1}]


def test_label_thresholds_keeps_an_existing_out_file(tmp_path, capsys):
    out = tmp_path / "mine.json"
    out.write_text("{}")
    assert run_tool(label_thresholds.main, ["--out", str(out)]) == EXIT_BAD_INPUT
    assert "--overwrite" in one_error_line(capsys)
    assert out.read_text() == "{}"


def test_bench_out_in_a_missing_folder_is_refused_before_the_run(tmp_path, capsys, no_analyzer):
    assert run_tool(bench.main, ["--out", str(tmp_path / "no" / "r.json"), "--skip-startup"]) == EXIT_BAD_INPUT
    assert "no folder" in one_error_line(capsys)
    assert no_analyzer == []


# 6. numbers

@pytest.mark.parametrize("tool, argv", [(bench.main, ["--detector-imgsz", "-64"]),
                                        (bench.main, ["--detector-imgsz", "0"]),
                                        (label_thresholds.main, ["--sweep-faces", "-5"]),
                                        (label_thresholds.main, ["--sweep-faces", "0"]),
                                        (replay_overhead.main, ["--passes", "0"]),
                                        (replay_overhead.main, ["--warmup-frames", "-1"])])
def test_numbers_that_make_no_sense_are_refused(capsys, tool, argv):
    assert argv[0] in refused_by_argparse(tool, argv, capsys)


# 7. --help and unknown options

@pytest.mark.parametrize("tool", [people_cost.main, replay_overhead.main])
def test_help_prints_help_and_unknown_options_are_refused(capsys, tool):
    with pytest.raises(SystemExit) as exit_:
        tool(["--help"])
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out
    assert "unrecognized arguments: --made-up" in refused_by_argparse(tool, ["--made-up"], capsys)


# 8. nothing to measure

def test_scenecuts_without_demo_or_clips_is_refused(capsys):
    assert "nothing to measure" in refused_by_argparse(scenecuts.main, ["--no-demo"], capsys)


def test_real_clips_checks_copies_already_there_and_names_each_missing_clone_once(tmp_path, monkeypatch, capsys):
    import subprocess
    repos, out = tmp_path / "repos", tmp_path / "clips"
    git = repos / "someone+clips" / "repo"
    git.mkdir(parents=True)
    (git / "a.mp4").write_bytes(b"clip bytes")
    run = lambda *a: subprocess.run(["git", "-C", str(git), *a], check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("-c", "user.name=t", "-c", "user.email=t@t", "add", "a.mp4")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clip")
    commit = subprocess.run(["git", "-C", str(git), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    clips = (real_clips.RealClip("a.mp4", ("someone/clips", commit, "MIT"), "a.mp4"),
             real_clips.RealClip("b.mp4", ("nobody/here", commit, "MIT"), "b.mp4"),
             real_clips.RealClip("c.mp4", ("nobody/here", commit, "MIT"), "c.mp4"))
    monkeypatch.setattr(real_clips, "CLIPS", clips)
    assert real_clips.main([str(out), "--repos", str(repos)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("no clone of nobody/here") == 1 and "bench.bench" not in captured.out
    assert (out / "a.mp4").read_bytes() == b"clip bytes"
    (out / "a.mp4").write_bytes(b"clip")                       # truncated since
    monkeypatch.setattr(real_clips, "CLIPS", clips[:1])
    assert real_clips.main([str(out), "--repos", str(repos)]) == 1
    assert "differs from someone/clips" in capsys.readouterr().err and (out / "a.mp4").read_bytes() == b"clip"
    (out / "a.mp4").unlink()
    assert real_clips.main([str(out), "--repos", str(repos)]) == 0
    assert "bench.bench" in capsys.readouterr().out
    assert real_clips.main(["--list"]) == 0                   # no folder needed to list


def test_train_step_times_each_precision_asked_and_refuses_others(capsys):
    from bench import train_step
    with pytest.raises(SystemExit) as exit_:
        train_step.main(["--precision", "float32,float16"])
    assert exit_.value.code == EXIT_BAD_INPUT
    assert "float16" in capsys.readouterr().err.strip().splitlines()[-1]
    assert train_step.main(["--steps", "1", "--batch", "2", "--input-size", "75"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["float32", "bfloat16"]
    assert all("(median of 1;" in line for line in lines)
