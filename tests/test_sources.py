import json

import cv2
import numpy as np
import pytest

from core.errors import SourceError
from core.face import Face
from pipeline.outputs import RESULT_COLUMNS, ResultsWriter, VideoRecorder
from pipeline.sources import ImageFilesSource, VideoFileSource, open_source
from tests.conftest import FIXTURES, write_clip

CLIP = FIXTURES / "two_faces.mp4"


def test_fixture_clip_plays_to_the_end():
    with open_source(str(CLIP)) as src:
        assert isinstance(src, VideoFileSource) and not src.is_live
        frames = []
        while (f := src.read()) is not None:
            frames.append(f)
        assert len(frames) == 24 and frames[0].shape == (240, 320, 3)
        assert src.rewind() and src.read() is not None


def test_zero_byte_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        open_source(str(empty))


def test_non_video_file(tmp_path):
    junk = tmp_path / "notes.mp4"
    junk.write_bytes(b"this is not a video at all\n" * 100)
    with pytest.raises(SourceError, match="cannot be opened|no decodable"):
        open_source(str(junk))


def test_truncated_video(tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(CLIP.read_bytes()[:2000])
    with pytest.raises(SourceError):
        open_source(str(cut))


def test_missing_file():
    with pytest.raises(SourceError, match="not found"):
        open_source("/nonexistent/clip.mp4")


@pytest.mark.parametrize("spec", ["/nonexistent/folder/", "/nonexistent/folder"])
def test_missing_folder_is_not_called_a_video(spec):
    with pytest.raises(SourceError, match="No file or folder at .*a folder of images"):
        open_source(spec)


def test_missing_camera_is_a_clear_error():
    with pytest.raises(SourceError, match="No camera"):
        open_source("57")


def test_folder_of_images_skips_unreadable(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((20, 30), np.uint8))                 # grey
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((20, 30, 4), np.uint8))              # BGRA
    (tmp_path / "c.jpg").write_bytes(b"broken")
    (tmp_path / "notes.txt").write_text("junk")
    (tmp_path / ".DS_Store").write_bytes(b"\x00")
    src = open_source(str(tmp_path))
    assert isinstance(src, ImageFilesSource)
    frames = [src.read(), src.read()]
    assert src.read() is None and [p.name for p in src.skipped] == ["c.jpg"]
    assert [p.name for p in src.ignored] == ["notes.txt"]  # reported to the user; hidden files are not
    assert frames[0].ndim == 2 and frames[1].shape[2] == 4


def test_empty_folder(tmp_path):
    with pytest.raises(SourceError, match="no images"):
        open_source(str(tmp_path))


def test_recorder_writes_a_readable_video(tmp_path):
    path = tmp_path / "rec.mp4"
    with VideoRecorder(path, 10) as rec:
        for i in range(5):
            rec.write(np.full((48, 64, 3), i * 40, np.uint8))
        rec.write(np.zeros((30, 30, 3), np.uint8))  # other size: resized, not rejected
    cap = cv2.VideoCapture(str(path))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6


def test_unclassified_faces_are_null_in_json_and_empty_in_csv(tmp_path):
    """JSON has no NaN: a face without a label yet (settling track) must still give valid JSON."""
    unlabelled = Face((1, 2, 3, 4), 0.8, 5)
    odd = Face((1, 2, 3, 4), float("nan"), 6).with_classification("male", float("inf"), np.full(8, np.nan))
    with ResultsWriter(tmp_path / "r.jsonl") as writer:
        writer.write(0, 0.0, "clip", [unlabelled, odd])
    for line in (tmp_path / "r.jsonl").read_text().splitlines():
        row = json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
        assert row["p_0-2"] is None and row["score"] in (0.8, None)
    with ResultsWriter(tmp_path / "r.csv") as writer:
        writer.write(0, 0.0, "clip", [unlabelled])
    assert "nan" not in (tmp_path / "r.csv").read_text().lower()


@pytest.mark.parametrize("name", ["r.xyz", "r.json", "r.txt", "results"])
def test_results_writer_refuses_formats_it_cannot_tell(tmp_path, name):
    from core.errors import OutputError
    with pytest.raises(OutputError, match=r"\.csv or \.jsonl"):
        ResultsWriter(tmp_path / name)
    assert not (tmp_path / name).exists()


def test_unique_path_never_returns_a_taken_name(tmp_path):
    from pipeline.outputs import unique_path
    first = unique_path(tmp_path / "snap.png")
    assert first == tmp_path / "snap.png"
    first.write_bytes(b"1")
    second = unique_path(tmp_path / "snap.png")
    second.write_bytes(b"2")
    assert second.name == "snap_1.png" and unique_path(tmp_path / "snap.png").name == "snap_2.png"


def test_recorder_refuses_a_name_it_cannot_encode(tmp_path):
    from core.errors import OutputError
    with pytest.raises(OutputError, match=r"\.mp4 or \.avi"):
        VideoRecorder(tmp_path / "rec.mkv", 10)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_results_writer(tmp_path, suffix):
    path = tmp_path / f"r{suffix}"
    face = Face((1, 2, 3, 4), 0.8, 5).with_classification("male", 0.7, np.full(8, 1 / 8))
    with ResultsWriter(path) as writer:
        writer.write(0, 0.0, "clip", [face, face])
        writer.write(1, 0.04, "clip", [])
    lines = path.read_text().strip().splitlines()
    if suffix == ".csv":
        assert lines[0].split(",") == RESULT_COLUMNS and len(lines) == 3
    else:
        rows = [json.loads(line) for line in lines]
        assert len(rows) == 2 and rows[0]["track_id"] == 5 and rows[0]["gender"] == "male"


class _FlakyCapture:
    """Stands in for cv2.VideoCapture: delivers `good` frames, then fails like an unplugged camera."""

    def __init__(self, good):
        self.good = good

    def isOpened(self):
        return True

    def get(self, prop):
        return 30.0

    def read(self):
        if self.good > 0:
            self.good -= 1
            return True, np.zeros((48, 64, 3), np.uint8)
        return False, None

    def release(self):
        pass


def test_camera_that_disconnects_mid_stream_raises_a_clear_error(monkeypatch):
    from pipeline import sources
    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda index: _FlakyCapture(good=5))
    monkeypatch.setattr(sources.CameraSource, "READ_FAILURES_BEFORE_DISCONNECT", 3)
    cam = open_source(0)
    assert cam.is_live and cam.read() is not None
    with pytest.raises(SourceError, match="stopped delivering frames"):
        for _ in range(10):
            cam.read(timeout_s=1.0)
    cam.close()


def test_camera_read_returns_only_the_newest_frame(monkeypatch):
    from pipeline import sources

    class Counting(_FlakyCapture):
        n = 0

        def read(self):
            Counting.n += 1
            return True, np.full((4, 4, 3), min(Counting.n, 255), np.uint8)  # saturates: a wrap to 0 read as 'queued'

    monkeypatch.setattr(sources.cv2, "VideoCapture", lambda index: Counting(0))
    cam = open_source(1)
    import time
    time.sleep(0.05)
    frame = cam.read()
    assert frame[0, 0, 0] >= 2  # frames produced meanwhile were dropped, not queued
    cam.close()


def _frames(src):
    while (frame := src.read()) is not None:
        yield frame


def test_length_below_reads_ahead_without_losing_a_frame(tmp_path):
    clip = write_clip(tmp_path / "two.mp4", 2)
    with open_source(str(clip)) as src:
        assert src.length_below(3) == 2 and src.length_below(2) is None
        assert [int(f.mean() > 20) for f in _frames(src)] == [0, 1]   # both frames, in order
    with open_source(str(CLIP)) as src:
        assert src.length_below(3) is None
        assert sum(1 for _ in _frames(src)) == 24


def test_an_image_saved_as_mp4_is_a_one_frame_clip_whatever_its_header_says(tmp_path):
    """OpenCV reads a JPEG named .mp4 as a video whose header announces no sensible frame count."""
    fake = tmp_path / "photo.mp4"
    fake.write_bytes((FIXTURES / "two_faces.jpg").read_bytes())
    with open_source(str(fake)) as src:
        assert src.length_below(3) == 1


@pytest.mark.parametrize("reported, expected", [(29.97, 29.97), (0.0, 25.0), (float("nan"), 25.0), (90000.0, 25.0), (None, 25.0)])
def test_an_implausible_frame_rate_is_replaced_by_the_fallback(reported, expected):
    from core.images import FALLBACK_FPS, plausible_fps
    assert FALLBACK_FPS == 25.0 and plausible_fps(reported) == expected
    assert plausible_fps(reported, fallback=30.0) == (reported if expected != 25.0 else 30.0)


def test_a_stream_address_is_named_as_a_stream_not_folded_into_a_path():
    """"rtsp://127.0.0.1:1/x" used to be reported as "No file or folder at rtsp:/127.0.0.1:1/x"."""
    from core.errors import SourceError
    from pipeline.sources import open_source
    with pytest.raises(SourceError, match=r"^rtsp://127.0.0.1:1/x\.mp4 is a network stream"):
        open_source("rtsp://127.0.0.1:1/x.mp4")
