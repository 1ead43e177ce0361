import json

import cv2
import numpy as np
import pytest

from pipeline.errors import SourceError
from pipeline.outputs import RESULT_COLUMNS, ResultsWriter, VideoRecorder
from pipeline.sources import ImageFilesSource, VideoFileSource, open_source
from pipeline.face import Face
from tests.conftest import FIXTURES

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


def test_missing_camera_is_a_clear_error():
    with pytest.raises(SourceError, match="No camera"):
        open_source("57")


def test_folder_of_images_skips_unreadable(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((20, 30), np.uint8))                 # grey
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((20, 30, 4), np.uint8))              # BGRA
    (tmp_path / "c.jpg").write_bytes(b"broken")
    src = open_source(str(tmp_path))
    assert isinstance(src, ImageFilesSource)
    frames = [src.read(), src.read()]
    assert src.read() is None and [p.name for p in src.skipped] == ["c.jpg"]
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
