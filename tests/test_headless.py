"""`python main.py --headless`: outputs on the fixture clip, clear one-line errors on bad input, and never
a lost or overwritten user file."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.config import AppConfig
from core.face import TOO_DARK, TOO_SMALL
from tests.conftest import (FIXTURES, ROOT, needs_shipped_weights, signals_as_from_a_terminal, write_clip,
                            write_truncated_video)

CLIP = FIXTURES / "two_faces.mp4"
PHOTO = FIXTURES / "two_faces.jpg"
DEMO_CLIP = ROOT / "demo" / "demo_faces.mp4"


def run_main(*args, timeout=300):
    return subprocess.run([sys.executable, "main.py", "--headless", "--no-progress", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def assert_one_line_refusal(result, expect: str, code: int = 1):
    """Every refusal: a non-zero exit, exactly one line on stderr that matches `expect`, no traceback."""
    import re
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert re.search(expect, lines[0]), lines[0]


def strict_json(line: str) -> dict:
    """json.loads that rejects NaN/Infinity, which Python writes but JSON does not allow."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(line, parse_constant=refuse)


def video_frames(path) -> int:
    """Frames that really decode (the container's count can be right while the file does not play)."""
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} does not open"
    n = 0
    while cap.read()[0]:
        n += 1
    return n


@needs_shipped_weights()
def test_headless_clip_writes_video_and_strict_json_lines(tmp_path, tiny_classifier_weights):
    """Shipped detector (so there are faces and rows to check), tiny classifier (fast)."""
    out, res = tmp_path / "annotated.mp4", tmp_path / "results.jsonl"
    result = run_main("--source", CLIP, "--output", out, "--results", res, "--classifier", tiny_classifier_weights)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "24 frames" in result.stdout
    assert video_frames(out) == 24
    rows = [strict_json(line) for line in res.read_text().splitlines()]
    first_shown = AppConfig().confirm_hits - 1   # a face has rows from the frame it is confirmed on
    assert len(rows) >= 40 and {r["frame"] for r in rows} == set(range(first_shown, 24))  # two faces
    # a file is not live: every row carries a label (no settling gaps); a marker's missing values are null
    for r in rows:
        if r["label"] in (TOO_SMALL, TOO_DARK):
            assert r["gender"] is None and r["p_25-32"] is None
        else:
            assert r["gender"] in ("male", "female") and 0 <= r["p_25-32"] <= 1


@needs_shipped_weights()
def test_headless_clip_with_shipped_models(tmp_path):
    out, res = tmp_path / "annotated.mp4", tmp_path / "results.csv"
    result = run_main("--source", CLIP, "--output", out, "--results", res)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader(open(res)))
    assert rows, "the shipped detector found no face in the fixture clip"
    # a file is not live: every row carries a label from the frame its face is confirmed on (no
    # settling gaps); the first confirm_hits - 1 frames of a face have no row (not confirmed yet)
    assert all(r["gender"] in ("male", "female") and r["age_group"] and r["label"] not in ("", "face")
               for r in rows)
    assert all(r["track_id"] for r in rows)
    frames = sorted({int(r["frame"]) for r in rows})
    assert frames[0] == 2 and len(frames) == 22


@needs_shipped_weights()
def test_headless_folder_of_photos(tmp_path):
    """Grey and 16-bit photos find both faces; junk files are named in a warning; photos with the same
    stem get their own output files instead of overwriting each other."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copyfile(PHOTO, photos / "a.jpg")
    bgr = cv2.imread(str(PHOTO))
    cv2.imwrite(str(photos / "a.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))      # same stem as a.jpg
    cv2.imwrite(str(photos / "deep.png"), bgr.astype(np.uint16) * 257)              # 16-bit PNG
    (photos / "notes.txt").write_text("not a photo")
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    result = run_main("--source", photos, "--output", out, "--results", tmp_path / "r.csv")
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "a_1.jpg", "deep.jpg"]
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert sorted(r["source"] for r in rows) == ["a.jpg", "a.jpg", "a.png", "a.png", "deep.png", "deep.png"]
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "2 file" in warning[0] and "notes.txt" in warning[0] and "broken.jpg" in warning[0]
    assert "note: 1 annotated photo got a numbered name, as the plain one was taken: a.png -> a_1.jpg" in result.stderr

    # a rerun into the same folder: new numbered copies, named in the note; with --overwrite the same names again
    again = run_main("--source", photos, "--output", out)
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "a_1.jpg", "a_2.jpg", "a_3.jpg", "deep.jpg", "deep_1.jpg"]
    assert "3 annotated photos got a numbered name" in again.stderr and "deep.png -> deep_1.jpg" in again.stderr
    before = (out / "a.jpg").stat().st_mtime_ns
    replaced = run_main("--source", photos, "--output", out, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "a_1.jpg", "a_2.jpg", "a_3.jpg", "deep.jpg", "deep_1.jpg"]
    assert (out / "a.jpg").stat().st_mtime_ns > before and "--overwrite lets" not in replaced.stderr


@pytest.mark.parametrize("make_bad, expect", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_bytes(b"garbage" * 300), "cannot be opened|no decodable"),
    (lambda p: None, "not found"),
])
def test_bad_input_exits_nonzero_with_one_line(tmp_path, make_bad, expect, tiny_onnx_detector_weights,
                                               tiny_classifier_weights):
    bad = tmp_path / "bad.mp4"
    make_bad(bad)
    result = run_main("--source", bad, "--detector", tiny_onnx_detector_weights, "--classifier", tiny_classifier_weights)
    assert_one_line_refusal(result, expect)


def test_missing_weights_exit_with_the_training_command(tmp_path):
    result = run_main("--source", CLIP, "--detector", tmp_path / "none.onnx")
    assert_one_line_refusal(result, "python -m detection.train")


def test_headless_camera_is_a_source_and_both_together_are_refused(monkeypatch, capsys):
    """`--headless --camera 2` used to answer "needs --source"; with --source too, --camera was ignored."""
    import main
    seen = []
    monkeypatch.setattr("pipeline.headless.run_headless", lambda source, *a, **k: seen.append(source) or 1 / 0)
    main.main(["--headless", "--no-progress", "--camera", "2"])
    assert seen == ["2"]
    for window in ([], ["--headless"]):   # the window refuses the pair too, before it opens
        assert main.main([*window, "--camera", "2", "--source", str(CLIP)]) == 2
        err = capsys.readouterr().err.splitlines()[-1]
        assert err.startswith("error: give --source or --camera, not both")


def test_a_refusal_names_the_command_that_was_run(capsys):
    from core.cli import OneLineParser
    for prog, command in (("main.py", "python main.py --help"), ("face-age-gender", "face-age-gender --help")):
        with pytest.raises(SystemExit):
            OneLineParser(prog=prog).error("bad")
        assert capsys.readouterr().err == f"error: bad (see `{command}`)\n"
    result = run_main("--crop-scale", "9")
    assert_one_line_refusal(result, r"see `python main.py --help`", code=2)


def test_no_display_says_to_use_headless(monkeypatch, capsys):
    import main
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(main.sys, "platform", "linux")
    assert main.main(["--source", str(CLIP)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--headless" in err and err.count("\n") == 1


def test_headless_needs_a_source():
    result = run_main()
    assert result.returncode == 2 and "--source" in result.stderr


def _copy(src, dst):
    shutil.copyfile(src, dst)
    return dst


@pytest.mark.parametrize("case", ["video", "video other spelling", "photo", "photo folder", "results on video"])
def test_output_never_overwrites_the_input(tmp_path, case):
    """--output equal to --source overwrote the input and exited 0."""
    video, photo = _copy(CLIP, tmp_path / "clip.mp4"), _copy(PHOTO, tmp_path / "photo.jpg")
    args = {"video": ("--source", video, "--output", video),
            "video other spelling": ("--source", video, "--output", tmp_path / "x" / ".." / "clip.mp4"),
            "photo": ("--source", photo, "--output", photo),
            "photo folder": ("--source", tmp_path, "--output", tmp_path),
            "results on video": ("--source", video, "--results", video)}[case]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    result = run_main(*args, "--detector", tmp_path / "never-loaded.onnx")  # refused before the models load
    assert_one_line_refusal(result, "input|folder of the input photos")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


@pytest.mark.parametrize("flag, name", [("--output", "kept.mp4"), ("--results", "kept.csv"),
                                        ("--summary", "kept.json")])
def test_an_existing_output_file_is_kept_unless_overwrite_is_given(tmp_path, flag, name):
    """A new user's --output/--results/--summary that named an existing file replaced it and exited 0."""
    kept = tmp_path / name
    kept.write_text("KEEP")
    result = run_main("--source", CLIP, flag, kept, "--detector", tmp_path / "never-loaded.onnx")
    assert_one_line_refusal(result, f"{flag} .*{name} already exists: .*--overwrite")
    assert kept.read_text() == "KEEP"


def test_overwrite_replaces_a_named_output(tmp_path):
    from pipeline.headless import run_headless
    from tests.test_people_headless import fake_analyzer
    res, summary = tmp_path / "r.csv", tmp_path / "s.json"
    res.write_text("old")
    summary.write_text("old")
    run_headless(str(CLIP), None, str(res), progress=False, analyzer=fake_analyzer(), summary=str(summary),
                 overwrite=True)
    assert res.read_text().startswith("frame,") and json.loads(summary.read_text())["people"] == 2


def test_results_and_summary_cannot_share_a_file(tmp_path):
    """Both wrote to r.csv and the per-frame rows were lost under the summary."""
    result = run_main("--source", CLIP, "--results", tmp_path / "r.csv", "--summary", tmp_path / "r.csv",
                      "--detector", tmp_path / "never-loaded.onnx")
    assert_one_line_refusal(result, "--results and --summary are the same file")
    assert not (tmp_path / "r.csv").exists()


def test_pickled_detector_is_refused_without_running_it(tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "code_ran"), "w"))

    hostile = tmp_path / "model.pt"
    hostile.write_bytes(pickle.dumps({"model": Payload()}) * 100)
    result = run_main("--source", CLIP, "--detector", hostile)
    assert_one_line_refusal(result, "--trust-checkpoints")
    assert not (tmp_path / "code_ran").exists()


def test_trusted_checkpoint_runs_with_a_warning(tmp_path, tiny_detector_weights, tiny_classifier_weights):
    result = run_main("--source", PHOTO, "--detector", tiny_detector_weights, "--classifier", tiny_classifier_weights,
                      "--trust-checkpoints")
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "runs code" in warnings[0]


@pytest.mark.parametrize("args, expect", [
    (("--crop-scale", "nan"), "--crop-scale: nan is not a number: give one within 1-2"),
    (("--confidence", "nan"), "--confidence"),
    (("--confidence", "1.5"), "--confidence"),
    (("--crop-scale", "inf"), "--crop-scale"),
    (("--camera", "-1"), "--camera"),
])
def test_bad_numbers_are_refused_in_one_line(args, expect):
    result = run_main("--source", CLIP, *args)
    assert_one_line_refusal(result, expect, code=2)


def test_unknown_results_format_is_refused(tmp_path):
    result = run_main("--source", CLIP, "--results", tmp_path / "r.xyz")
    assert_one_line_refusal(result, r"\.csv or \.jsonl")
    assert not (tmp_path / "r.xyz").exists()


@pytest.mark.parametrize("where", ["under a file", "read-only folder", "video with a photo suffix"])
@pytest.mark.parametrize("source", [CLIP, PHOTO])
def test_unwritable_outputs_are_refused_up_front(tmp_path, where, source):
    if where == "read-only folder":
        if os.geteuid() == 0:  # root writes through permission bits; /proc takes no new files from anyone
            target_dir = "/proc"
        else:
            target_dir = tmp_path / "ro"
            target_dir.mkdir()
            target_dir.chmod(0o555)
        output = f"{target_dir}/out{source.suffix}"
    elif where == "under a file":
        (tmp_path / "file.txt").write_text("a file, not a folder")
        output = tmp_path / "file.txt" / f"out{source.suffix}"
    else:
        output = tmp_path / ("out.jpg" if source == CLIP else "out.mp4")
    result = run_main("--source", source, "--output", output, "--detector", tmp_path / "never-loaded.onnx")
    assert_one_line_refusal(result, "Cannot write|no file can be created|is a file|needs a name ending")


def test_a_folder_as_video_output_or_of_videos_as_source_says_what_to_give(tmp_path):
    """These said '--output out: the annotated video needs...' (the folder's path cut to its name) and
    'holds no images' with no word about the videos that were there."""
    out = tmp_path / "out"
    out.mkdir()
    result = run_main("--source", CLIP, "--output", out, "--detector", tmp_path / "never-loaded.onnx")
    assert_one_line_refusal(result, rf"--output {out} is a folder: .* \(e\.g\. {out}/two_faces_annotated\.mp4\)")
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copyfile(CLIP, videos / "a.mp4")
    result = run_main("--source", videos, "--detector", tmp_path / "never-loaded.onnx")
    assert_one_line_refusal(result, "holds no images .* It holds 1 video: open one at a time")


def test_a_photo_that_cannot_be_written_is_an_error_not_success(tmp_path, monkeypatch):
    from core.errors import OutputError
    from pipeline import headless
    from pipeline.analyzer import FaceAnalyzer
    from tests.conftest import FakeClassifier, FakeDetector
    monkeypatch.setattr(cv2, "imwrite", lambda *a, **k: False)  # a full disk, say
    analyzer = FaceAnalyzer(detector=FakeDetector([[(60, 80, 120, 150)]]), classifier=FakeClassifier())
    with pytest.raises(OutputError, match="Could not write"):
        headless.run_headless(str(PHOTO), str(tmp_path / "out.jpg"), None, progress=False, analyzer=analyzer)


@needs_shipped_weights()
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_run_leaves_a_playable_video_and_whole_rows(tmp_path, sig):
    """SIGTERM during a run used to leave an .mp4 without its index (unplayable)."""
    out, res = tmp_path / "annotated.mp4", tmp_path / "results.csv"
    proc = subprocess.Popen([sys.executable, "main.py", "--headless", "--no-progress", "--source", DEMO_CLIP,
                             "--output", out, "--results", res], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=signals_as_from_a_terminal)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if res.is_file() and len(res.read_text().splitlines()) > 10:  # rows are flushed frame by frame
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, stderr[-2000:]
    assert "Traceback" not in stderr and "interrupted after" in stderr
    frames = int(stdout.split(" frames")[0].split()[-1])
    assert 0 < frames < 360
    assert video_frames(out) == frames
    rows = list(csv.DictReader(open(res)))
    assert rows and all(None not in r.values() and r["p_60-100"] != "" or r["gender"] == "" for r in rows)
    assert max(int(r["frame"]) for r in rows) < frames


@needs_shipped_weights()
def test_a_run_that_saves_nothing_says_so_and_succeeds():
    result = run_main("--source", CLIP)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "note: no --output, --results or --summary was given, so nothing was saved" in result.stderr
    assert "frames" in result.stdout


def test_the_run_line_counts_one_person_in_the_singular(capsys):
    from types import SimpleNamespace

    import main
    run = SimpleNamespace(frames=10, faces=10, seconds=1.0, output=None, results=None, summary="p.json", people=1,
                          skipped=[])
    main.print_run(run)
    assert "; 1 person: p.json" in capsys.readouterr().out


@pytest.mark.parametrize("photos_in_folder, output", [(2, "out.mp4"), (1, "out.jpg")])
def test_a_photo_folder_with_a_file_name_as_output_is_refused(tmp_path, photos_in_folder, output):
    """A folder of photos is annotated into a folder: `--output out.mp4` used to become a folder named out.mp4,
    and a folder holding one photo was taken for that photo (`--output out.jpg` accepted, `.mp4` refused as
    'the annotated photo needs .jpg')."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in "ab"[:photos_in_folder]:
        shutil.copyfile(PHOTO, photos / f"{name}.jpg")
    result = run_main("--source", photos, "--output", tmp_path / output, "--detector", tmp_path / "never-loaded.onnx")
    assert_one_line_refusal(result, rf"name a folder \(without \{Path(output).suffix}\)")
    assert not (tmp_path / output).exists()


def fake_analyzer():
    from pipeline.analyzer import FaceAnalyzer
    from tests.conftest import FakeClassifier, FakeDetector
    return FaceAnalyzer(detector=FakeDetector([[(60, 80, 120, 150)]]), classifier=FakeClassifier())


def test_a_truncated_video_is_reported_as_ending_early(tmp_path):
    """A video cut short used to count as a full success: its header still announces every frame."""
    from pipeline import headless
    whole, cut = write_truncated_video(tmp_path)
    full = headless.run_headless(str(whole), None, None, progress=False, analyzer=fake_analyzer())
    assert full.frames == full.announced_frames == 100 and not full.ended_early
    short = headless.run_headless(str(cut), None, None, progress=False, analyzer=fake_analyzer())
    assert short.announced_frames == 100 and 0 < short.frames < 90 and short.ended_early


def test_ending_early_allows_for_estimated_frame_counts():
    from pipeline.headless import HeadlessRun
    run = lambda frames, **kw: HeadlessRun(frames, 0, 1.0, None, None, announced_frames=360, **kw)  # noqa: E731
    assert run(207).ended_early
    assert not run(358).ended_early                     # a container's estimate may be off by a frame or two
    assert not run(207, interrupted=True).ended_early   # stopped by the user, not cut short
    assert not HeadlessRun(5, 0, 1.0, None, None).ended_early  # a camera: no count to fall short of


def test_a_run_stopped_before_its_first_frame_names_no_output(tmp_path):
    """The run line used to name an output video that was never written."""
    import threading

    from pipeline import headless
    stop = threading.Event()
    stop.set()
    out = tmp_path / "never.mp4"
    run = headless.run_headless(str(CLIP), str(out), None, progress=False, analyzer=fake_analyzer(), stop=stop)
    assert run.frames == 0 and run.interrupted and run.output is None and not out.exists()


def test_ctrl_c_while_starting_is_one_line_not_a_traceback(monkeypatch, capsys):
    import main

    def interrupted(argv=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(main, "_main", interrupted)
    assert main.main([]) == 128 + signal.SIGINT
    assert capsys.readouterr().err.strip() == "interrupted while starting: nothing was written"


def test_a_folder_as_summary_says_so(tmp_path):
    from core.errors import OutputError
    from pipeline.summary import check_summary_path
    with pytest.raises(OutputError, match="it is a folder; give a file name such as"):
        check_summary_path(tmp_path)


def test_a_summary_name_without_a_known_suffix_or_under_a_file_is_refused_before_the_run(tmp_path):
    """`--summary s.xyz` used to be written as JSON; an unwritable place failed only after the whole run."""
    from core.errors import OutputError
    from pipeline.summary import check_summary_path
    with pytest.raises(OutputError, match=r"give a name ending in \.json or \.csv"):
        check_summary_path(tmp_path / "s.xyz")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_summary_path(blocker / "people.json")
    assert check_summary_path(tmp_path / "new" / "people.csv") == tmp_path / "new" / "people.csv"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device that is always full)")
def test_a_full_disk_names_the_results_file(tmp_path):
    """A full disk used to end the run with `error: No space left on device.` and no file named."""
    from core.errors import OutputError
    from core.face import Face
    from pipeline.outputs import ResultsWriter
    full = tmp_path / "faces.jsonl"
    full.symlink_to("/dev/full")
    writer = ResultsWriter(full)
    with pytest.raises(OutputError, match="Cannot write the results file .*faces.jsonl .*No space left"):
        writer.write(0, 0.0, "clip.mp4", [Face(box=(0, 0, 10, 10), score=0.9)])
    writer.close()


def test_headless_only_flags_in_window_mode_are_named_not_ignored_silently():
    import main
    args = main.parse_args(["--source", str(CLIP), "--output", "a.mp4", "--blur", "--summary", "p.json"])
    assert main.headless_only_flags(args) == ["--output", "--summary", "--blur"]
    assert main.headless_only_flags(main.parse_args(["--source", str(CLIP)])) == []


@pytest.mark.parametrize("frames", [1, 2])
def test_a_clip_shorter_than_confirmation_still_shows_its_faces(tmp_path, frames):
    """A face is shown after 3 detections in a row; a 1- or 2-frame clip (or a photo saved as .mp4) used to
    give '0 faces' with no hint. Every face of such a clip is shown at once, as in a photo."""
    from pipeline import headless
    clip = write_clip(tmp_path / "short.mp4", frames, size=(320, 240), grey=128)
    summary = tmp_path / "people.json"
    run = headless.run_headless(str(clip), None, None, progress=False, analyzer=fake_analyzer(), summary=str(summary))
    assert run.frames == frames and run.faces == frames
    assert run.people == 1       # the summary counts it too (it said 0: no track can last 1 s and 5 frames)
    longer = headless.run_headless(str(CLIP), None, None, progress=False, analyzer=fake_analyzer())
    assert longer.faces == longer.frames - 2          # a longer clip keeps the 3-detection rule


def test_a_photo_output_with_an_unknown_ending_lists_the_endings_that_work(tmp_path):
    """It said '.jpg or .png' while .webp, .bmp, .tif ... are written as well."""
    result = run_main("--source", PHOTO, "--output", tmp_path / "x.gif", "--detector", tmp_path / "never-loaded.onnx")
    assert_one_line_refusal(result, r"needs a name ending in \.bmp, \.jpeg, \.jpg, \.png, \.tif, \.tiff, \.webp")


def test_a_summary_of_no_person_despite_shown_faces_says_why(monkeypatch, capsys, tmp_path):
    import main
    from pipeline import headless
    run = headless.HeadlessRun(30, 3, 1.0, None, None, summary=tmp_path / "p.json", people=0)
    monkeypatch.setattr(headless, "run_headless", lambda *a, **k: run)
    assert main.main(["--headless", "--source", str(CLIP), "--summary", str(tmp_path / "p.json")]) == 0
    assert "note: the summary counts no person although faces were shown: a person is a face that stays 1 s " \
           "and 5 frames in view" in capsys.readouterr().err


def test_a_bug_keeps_its_traceback_and_ends_with_one_line_saying_what_to_do(monkeypatch, capsys, tmp_path):
    # a bad file is one line; an exception nobody foresaw is a bug: the traceback goes into the report
    import main
    import pipeline.headless

    def broken(*args, **kwargs):
        raise KeyError("boom")
    monkeypatch.setattr(pipeline.headless, "run_headless", broken)
    photo = tmp_path / "a.png"
    cv2.imwrite(str(photo), np.zeros((8, 8, 3), np.uint8))
    assert main.run_headless(main.parse_args(["--headless", "--source", str(photo)])) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("Traceback") and any("KeyError: 'boom'" in line for line in err)
    assert err[-1].startswith("error: unexpected KeyError") and "traceback above" in err[-1]


def test_a_folder_where_no_image_reads_is_an_error_that_writes_nothing(tmp_path):
    """It used to print "0 frames, 0 faces", a skip warning and exit 0: a script took that for success."""
    from core.errors import SourceError
    from pipeline import headless
    from pipeline.analyzer import FaceAnalyzer
    from tests.conftest import FakeClassifier, FakeDetector
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    (photos / "notes.txt").write_text("not a photo")
    analyzer = FaceAnalyzer(detector=FakeDetector([[(60, 80, 120, 150)]]), classifier=FakeClassifier())
    with pytest.raises(SourceError, match=r"None of the 1 image file\(s\) in .*photos could be read \(broken.jpg\)"):
        headless.run_headless(str(photos), str(tmp_path / "out"), str(tmp_path / "r.csv"), progress=False,
                              analyzer=analyzer, summary=str(tmp_path / "people.json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_a_run_stopped_before_its_first_frame_writes_no_results_or_summary(tmp_path):
    """Only the video used to be left out: the results table was kept with its header alone, which reads as
    "no faces", and named in the run line."""
    import threading

    from pipeline import headless
    from pipeline.analyzer import FaceAnalyzer
    from tests.conftest import FakeClassifier, FakeDetector
    stop = threading.Event()
    stop.set()
    analyzer = FaceAnalyzer(detector=FakeDetector([[(60, 80, 120, 150)]]), classifier=FakeClassifier())
    run = headless.run_headless(str(CLIP), str(tmp_path / "a.mp4"), str(tmp_path / "r.csv"), progress=False,
                                analyzer=analyzer, stop=stop, summary=str(tmp_path / "people.json"))
    assert run.frames == 0 and run.output is None and run.results is None and run.summary is None
    assert list(tmp_path.iterdir()) == []
    # a frame with no face is a result: the table has its header
    run = headless.run_headless(str(PHOTO), None, str(tmp_path / "r.csv"), progress=False,
                                analyzer=FaceAnalyzer(detector=FakeDetector([[]]), classifier=FakeClassifier()))
    assert run.results == tmp_path / "r.csv" and (tmp_path / "r.csv").read_text().startswith("frame")


def test_a_missing_checkpoint_gets_its_error_without_the_trust_warning(tmp_path):
    """The "runs code stored in the file" warning used to come first, for a file that was not there."""
    result = run_main("--source", PHOTO, "--classifier", tmp_path / "x.keras", "--trust-checkpoints")
    assert_one_line_refusal(result, r"No age/gender classifier weights at .*x\.keras")
