"""Frame sources (camera, video file, image, folder of images) with clear errors, and no Qt.

`open_source(spec)` picks the kind from `spec`: an int or digit string is a camera index, a folder is
read image by image, an image file gives one frame, anything else must be a decodable video.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from core.errors import SourceError
from core.images import CAMERA_FALLBACK_FPS, FALLBACK_FPS, IMAGE_SUFFIXES, VIDEO_SUFFIXES, plausible_fps

ANNOUNCED_FRAMES_TOLERANCE = 0.01  # some containers' frame counts are estimates: 1% (at least 2 frames) short is not early


def ended_early(frames_read: int, announced_frames: int) -> bool:
    """True when a video file gave well under the frame count its header announces (0: unknown): the file
    is truncated or damaged from there on, which its reader otherwise reports only as an ordinary end."""
    return announced_frames > 0 and (
        frames_read + max(2, int(announced_frames * ANNOUNCED_FRAMES_TOLERANCE)) < announced_frames)


def early_end_note(name: str, frames_read: int, announced_frames: int) -> str:
    """What to tell the user when `ended_early`, else ""."""
    if not ended_early(frames_read, announced_frames):
        return ""
    return (f"{name} ended after {frames_read} of the {announced_frames} frames its header announces: "
            f"the file is truncated or damaged there.")


class FrameSource:
    """Common interface: `read() -> frame or None` (None = end of stream), `close()`."""

    is_live = False
    fps = FALLBACK_FPS
    frame_count = 0  # 0 when unknown (cameras)
    name = ""

    def read(self) -> np.ndarray | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def rewind(self) -> bool:
        return False

    @property
    def input_paths(self) -> list[Path]:
        """The files this source reads (none for a camera): an output must never replace one of them."""
        return []

    @property
    def announced_frames(self) -> int:
        """The frame count a video file's header promises (0: no such promise), for `ended_early`."""
        return 0

    def length_below(self, frames: int) -> int | None:
        """The whole stream's length when it has fewer than `frames` frames, else None (and for a camera)."""
        return None

    def frames(self, stop: threading.Event | None = None) -> Iterator[np.ndarray]:
        """Every frame until the end of the stream, or until `stop` is set (checked before each read)."""
        while stop is None or not stop.is_set():
            frame = self.read()
            if frame is None:
                return
            yield frame

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class VideoFileSource(FrameSource):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = self.path.name
        if not self.path.is_file():
            raise SourceError(f"Video file not found: {self.path}. Check the path, or open another file.")
        if self.path.stat().st_size == 0:
            raise SourceError(f"{self.path.name} is empty (0 bytes): it is not a video. Open another file.")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"{self.path.name} cannot be opened as a video: the file is damaged, not a video, "
                              f"or uses an unsupported codec. Convert it to MP4 (mp4v) or AVI (MJPG) and retry.")
        self.fps = plausible_fps(self._cap.get(cv2.CAP_PROP_FPS))
        self.frame_count = max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        self._ahead: deque[np.ndarray] = deque()   # frames read before they were asked for (length_below)
        self._at_end = False
        if not self._read_ahead(1):
            self._cap.release()
            raise SourceError(f"{self.path.name} has no decodable frames: it is truncated or uses an unsupported "
                              f"codec. Convert it to MP4 (mp4v) or AVI (MJPG) and retry.")

    def _read_raw(self):
        ok, frame = self._cap.read()
        return frame if ok and frame is not None and frame.size else None

    def _read_ahead(self, frames: int) -> int:
        """Hold up to `frames` unread frames; returns how many are held (fewer: the file ends there)."""
        while len(self._ahead) < frames and not self._at_end:
            frame = self._read_raw()
            if frame is None:
                self._at_end = True
            else:
                self._ahead.append(frame)
        return len(self._ahead)

    def read(self):
        return self._ahead.popleft() if self._ahead else self._read_raw()

    def length_below(self, frames: int) -> int | None:
        """Read ahead (nothing is lost) to tell a clip shorter than `frames` frames: the count of frames not
        read yet, else None. It reads rather than trusting the header's frame count, which is often unknown
        (an image saved as .mp4) or an estimate."""
        held = self._read_ahead(frames)
        return held if held < frames else None

    @property
    def input_paths(self) -> list[Path]:
        return [self.path]

    @property
    def announced_frames(self) -> int:
        return self.frame_count

    def rewind(self) -> bool:
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._ahead.clear()
        self._at_end = False
        return self._read_ahead(1) > 0

    def close(self):
        self._cap.release()


class CameraSource(FrameSource):
    """A live camera read by a background thread that keeps only the newest frame.

    Why: if analysis is slower than the camera, frames queue in the driver and the picture lags ever
    further behind; dropping stale frames keeps what is shown current.
    """

    is_live = True
    READ_FAILURES_BEFORE_DISCONNECT = 30
    RETRY_WAIT_S = 0.01   # between failed reads

    def __init__(self, index: int):
        self.index = int(index)
        self.name = f"Camera {self.index}"
        self._cap = cv2.VideoCapture(self.index)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"No camera found at index {self.index}. Connect a camera, choose another one, "
                              f"or open a video file instead.")
        self.fps = plausible_fps(self._cap.get(cv2.CAP_PROP_FPS), CAMERA_FALLBACK_FPS)
        self._latest: np.ndarray | None = None
        self._fresh = threading.Event()
        self._stop = threading.Event()
        self.disconnected = False
        self._thread = threading.Thread(target=self._grab_loop, name=f"camera-{self.index}", daemon=True)
        self._thread.start()

    def _grab_loop(self):
        failures = 0
        while not self._stop.is_set():
            ok, frame = self._cap.read()
            if ok and frame is not None:
                failures = 0
                self._latest = frame
                self._fresh.set()
            else:
                failures += 1
                if failures >= self.READ_FAILURES_BEFORE_DISCONNECT:
                    self.disconnected = True
                    self._fresh.set()
                    return
                time.sleep(self.RETRY_WAIT_S)

    def read(self, timeout_s: float = 2.0):
        if not self._fresh.wait(timeout_s) or self.disconnected:
            raise SourceError(f"Camera {self.index} stopped delivering frames (disconnected?). "
                              f"Reconnect it and choose it again from the Camera menu.")
        self._fresh.clear()
        return self._latest

    def close(self):
        self._stop.set()
        self._thread.join(timeout=1.0)
        self._cap.release()


class ImageFilesSource(FrameSource):
    """One image file, or every image of a folder in name order.

    Files of a folder that are not images (`ignored`) or do not decode (`skipped`, filled while
    reading) are passed over, and kept in those lists so the caller can tell the user which.
    """

    def __init__(self, path: str | Path):
        path = Path(path)
        self.name = path.name
        self.fps = 1.0
        self.folder = path if path.is_dir() else None
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        self.paths = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        self.ignored: list[Path] = [p for p in files  # hidden files (.DS_Store, ...) are nobody's photos
                                    if p.suffix.lower() not in IMAGE_SUFFIXES and not p.name.startswith(".")]
        if not self.paths:
            videos = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
            hint = (f" It holds {len(videos)} video{'s' if len(videos) > 1 else ''}: open one at a time "
                    f"(e.g. {videos[0]})." if videos else "")
            raise SourceError(f"{path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}).{hint}")
        self.frame_count = len(self.paths)
        self.skipped: list[Path] = []
        self.current_path: Path | None = None
        self._next = 0
        # one image is decoded here, once: decoding it again would repeat a damaged file's decoder warnings
        self._decoded = None if path.is_dir() else cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if not path.is_dir() and (self._decoded is None or not self._decoded.size):
            raise SourceError(f"{path.name} cannot be read as an image: the file is damaged or not an image. Open "
                              f"another photo, or save this one again as JPEG or PNG.")

    def _decode(self, path: Path) -> np.ndarray | None:
        return self._decoded if self.folder is None else cv2.imread(str(path), cv2.IMREAD_UNCHANGED)

    def read(self):
        while self._next < len(self.paths):
            self.current_path = self.paths[self._next]
            self._next += 1
            frame = self._decode(self.current_path)
            if frame is not None and frame.size:
                return frame
            self.skipped.append(self.current_path)
        return None

    @property
    def input_paths(self) -> list[Path]:
        return list(self.paths)

    def rewind(self) -> bool:
        self._next = 0
        return True


def open_source(spec: str | int | Path) -> FrameSource:
    """Open a camera index, video, image or folder; raises SourceError with a message for the user."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        return CameraSource(int(spec))
    if isinstance(spec, str) and "://" in spec:   # Path() would fold "rtsp://host" into "rtsp:/host"
        raise SourceError(f"{spec} is a network stream, which the app does not open: give a video file, an image, "
                          f"a folder of images or a camera index.")
    path = Path(spec).expanduser()
    if not path.exists() and (str(spec).endswith(("/", "\\")) or not path.suffix):
        raise SourceError(f"No file or folder at {path}. Check the path: a video, an image or a folder of images.")
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        if not path.exists():
            raise SourceError(f"Not found: {path}. Check the path.")
        return ImageFilesSource(path)
    return VideoFileSource(path)
