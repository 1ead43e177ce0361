"""Process a video, image or folder without a window: annotated output, results table, progress bar.

Safe with the user's files: every output path is checked before the models load (never an input,
never inside a file, always writable), generated photo names replace an existing file only with
`overwrite`, and a run stopped through `stop` still closes a playable video and a results table of whole
rows.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from core.cli import check_can_write, some_names
from core.config import AppConfig
from core.errors import OutputError, SourceError
from core.images import IMAGE_SUFFIXES
from pipeline.analyzer import FaceAnalyzer
from pipeline.annotate import FaceAnnotator
from pipeline.outputs import (VIDEO_CODECS, ResultsWriter, VideoRecorder, make_parent,
                              results_format, unique_path)
from pipeline.privacy import FaceBlurrer, blur_faces
from pipeline.session import Session
from pipeline.sources import ImageFilesSource, ended_early, open_source
from pipeline.summary import SessionSummary, check_summary_path, write_summary

PHOTO_OUTPUT_SUFFIXES = IMAGE_SUFFIXES  # an annotated photo is written in any format a photo is read in


@dataclass
class HeadlessRun:
    """What a headless run did: counts, the files it wrote, and whether it was stopped early."""

    frames: int
    faces: int
    seconds: float
    output: Path | None
    results: Path | None
    skipped: list[Path] = field(default_factory=list)  # files of a photo folder that were not analysed
    interrupted: bool = False                           # stopped early through `stop`; outputs still closed
    summary: Path | None = None
    people: int | None = None   # distinct people (see pipeline.summary), when a summary was asked for
    announced_frames: int = 0   # the video file's own frame count (0: a camera, photos, or unknown)
    renamed: list[tuple[Path, Path]] = field(default_factory=list)  # (photo, its annotated copy) not named <stem>.jpg

    @property
    def ended_early(self) -> bool:
        """A video file that was not stopped ended well before the frame count in its header (truncated)."""
        return not self.interrupted and ended_early(self.frames, self.announced_frames)


def run_headless(source: str, output: str | None, results: str | None, config: AppConfig | None = None,
                 progress: bool = True, analyzer: FaceAnalyzer | None = None,
                 stop: threading.Event | None = None, summary: str | None = None, blur: bool = False,
                 overwrite: bool = False) -> HeadlessRun:
    """Analyse every frame of `source`; raises SourceError/OutputError/WeightsError with a message for the user.

    Videos are tracked (stable ids, smoothed labels; a face gets rows from the frame its track is
    confirmed on, each with a label, since a file is not held to the live classification budget);
    photos are analysed one by one, so one person's labels never leak into the next picture. For a
    folder, `output` is a folder of annotated images.
    Setting `stop` (e.g. from a signal handler) ends the run after the current frame.
    `summary`: write the session summary (distinct people, see `pipeline.summary`) there at the end.
    `blur`: blur every face in `output` before the labels are drawn (`pipeline.privacy`).
    A file named by `output`, `results` or `summary` that already exists is refused unless `overwrite`;
    in an output folder, `overwrite` lets a photo's copy replace the file of its name (a rerun), which
    otherwise gets a numbered name (`HeadlessRun.renamed`).
    """
    if summary:
        check_summary_path(summary)
    src = open_source(source)
    try:
        out_path = Path(output).expanduser() if output else None
        res_path = Path(results).expanduser() if results else None
        check_outputs(src, out_path, res_path, Path(summary).expanduser() if summary else None, overwrite)
        analyzer = analyzer or FaceAnalyzer(config)
        analyzer.configure(realtime=src.is_live)  # a file has no frame budget: every shown face is labelled
        return _process(src, analyzer, out_path, res_path, progress, stop or threading.Event(), summary, blur,
                        overwrite)
    finally:
        src.close()


def _process(src, analyzer: FaceAnalyzer, out_path: Path | None, res_path: Path | None, progress: bool,
             stop: threading.Event, summary: str | None = None, blur: bool = False,
             overwrite: bool = False) -> HeadlessRun:
    photos = isinstance(src, ImageFilesSource)
    writer = ResultsWriter(res_path) if res_path else None
    people = SessionSummary() if summary else None
    blurrer = FaceBlurrer()

    def prepare(frame, faces, pending):  # privacy hook: faces blurred before labels are drawn
        scene = frame.copy()
        if blur:  # pending faces are not shown yet, but blurred
            scene = blur_faces(scene, faces) if photos else blurrer.apply(scene, faces + pending)
        return scene

    photos_written: list[tuple[Path, Path]] = []   # (photo, its annotated copy)
    sinks = []
    if photos:  # untracked, so number each face of the run once: the results rows and the summary's people share it
        numbers = itertools.count(1)

        def number_faces(result):
            for face in result.faces:
                face.track_id = next(numbers)
        sinks.append(number_faces)
    if people is not None:  # session summary hook
        sinks.append(lambda r: people.add_stills(r.faces, photo=src.current_path.name) if photos
                     else people.update(r.time_s, r.faces))
    if out_path is not None and photos:
        sinks.append(lambda r: photos_written.append((src.current_path, _write_photo(
            out_path, src, r.annotated, this_run={copy for _, copy in photos_written}, overwrite=overwrite))))
    if writer:
        sinks.append(lambda r: writer.write(r.index, r.time_s, src.current_path.name if photos else src.name, r.faces))
    session = Session(analyzer, tracked=not photos, fps=src.fps, draw=out_path is not None,
                      annotator=FaceAnnotator(show_track_id=not photos), prepare=prepare,
                      recorder=None if (out_path is None or photos) else VideoRecorder(out_path, src.fps),
                      sinks=sinks, stream_frames=src.length_below(analyzer.config.confirm_hits))
    session.restart()
    start = time.perf_counter()
    bar = tqdm(total=src.frame_count or None, unit="frame", disable=not progress, desc=src.name)
    try:
        for result in session.run(src.frames(stop)):
            bar.update(1)
            bar.set_postfix(faces=len(result.faces))
    finally:
        bar.close()
        if session.recorder:
            session.recorder.close()
        if writer:
            writer.close()
    skipped = [*src.ignored, *src.skipped] if photos else []
    if photos and session.frames == 0 and src.skipped and not stop.is_set():
        raise SourceError(f"None of the {len(src.skipped)} image file(s) in {src.folder or src.name} could be read "
                          f"({some_names(src.skipped)}): they are damaged or not images. Save them again as JPEG "
                          f"or PNG, or open another folder.")
    # an output that got no frame is not written (`VideoRecorder`, `ResultsWriter`), the summary neither
    session_summary = people.to_dict(ended=True) if people is not None and session.frames else None
    summary_path = _write_session(session_summary, summary) if session_summary is not None else None
    wrote_output = bool(photos_written) if photos else bool(session.recorder and session.recorder.frames_written)
    return HeadlessRun(session.frames, session.faces_total, time.perf_counter() - start,
                      out_path if wrote_output else None, res_path if writer and writer.frames_written else None,
                      skipped,
                      interrupted=stop.is_set(), summary=summary_path,
                      people=session_summary["people"] if session_summary is not None else None,
                      announced_frames=src.announced_frames,
                      renamed=[(photo, copy) for photo, copy in photos_written
                               if copy.name != photo.stem + ".jpg" and copy != out_path])


def _write_session(session: dict, path: str) -> Path:
    try:
        return write_summary(session, path)
    except OSError as exc:
        raise OutputError(f"Cannot write the summary to {path}: {exc.strerror or exc}. Give --summary a path in a "
                          f"writable folder with free space.") from None


def same_file(a: Path, b: Path) -> bool:
    """True when two paths name one file (links, `..`, case-insensitive file systems included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet: compare where they would be
        return a.expanduser().resolve() == b.expanduser().resolve()


def _single_photo_output(src: ImageFilesSource, out_path: Path) -> bool:
    """One image file in, one annotated file out; a folder (even of one photo) gives a folder."""
    return src.folder is None and bool(out_path.suffix) and not out_path.is_dir()


def check_outputs(src, out_path: Path | None, res_path: Path | None, summary_path: Path | None = None,
                  overwrite: bool = False) -> None:
    """Refuse, before any work, outputs that would replace an input, each other, or (without `overwrite`)
    a file already there, and outputs that cannot be written."""
    photos = isinstance(src, ImageFilesSource)
    inputs = src.input_paths
    named = [(path, what) for path, what in ((out_path, "--output"), (res_path, "--results"),
                                             (summary_path, "--summary")) if path is not None]
    for path, what in named:
        if any(same_file(path, p) for p in inputs):
            raise OutputError(f"{what} {path} is the input itself and would overwrite it: "
                              f"choose another name.")
    for i, (path, what) in enumerate(named):
        for other, other_what in named[i + 1:]:
            if same_file(path, other):
                raise OutputError(f"{what} and {other_what} are the same file ({path}): give them different names.")
    for path, what in named:
        if path.is_file() and not overwrite:
            raise OutputError(f"{what} {path} already exists: choose another name, or add --overwrite to "
                              f"replace it.")
    if res_path is not None:
        results_format(res_path)
        check_can_write(res_path, "results file")
    if out_path is None:
        return
    if not photos:
        if out_path.is_dir():
            raise OutputError(f"--output {out_path} is a folder: the annotated video needs a file name ending in "
                              f".mp4 or .avi (e.g. {out_path / (Path(src.name).stem + '_annotated.mp4')}).")
        if out_path.suffix.lower() not in VIDEO_CODECS:
            raise OutputError(f"--output {out_path}: the annotated video needs a name ending in .mp4 or .avi.")
        check_can_write(out_path, "output video")
    elif _single_photo_output(src, out_path):
        if out_path.suffix.lower() not in PHOTO_OUTPUT_SUFFIXES:
            raise OutputError(f"--output {out_path.name}: the annotated photo needs a name ending in "
                              f"{', '.join(sorted(PHOTO_OUTPUT_SUFFIXES))} (or give a folder).")
        check_can_write(out_path, "output image")
    else:
        file_suffixes = {*VIDEO_CODECS, *PHOTO_OUTPUT_SUFFIXES, ".json", ".csv", ".jsonl"}
        if out_path.suffix.lower() in file_suffixes and not out_path.is_dir():
            raise OutputError(f"--output {out_path.name}: photos of a folder are annotated into a folder of "
                              f"photos; name a folder (without {out_path.suffix}).")
        if any(same_file(out_path, p.parent) for p in inputs):
            raise OutputError(f"--output {out_path} is the folder of the input photos: the annotated copies "
                              f"would mix with (or replace) them. Choose another folder.")
        check_can_write(out_path, "output folder", folder=True)


def _write_photo(out_path: Path, src: ImageFilesSource, annotated, this_run: set[Path], overwrite: bool) -> Path:
    """Write one annotated photo; a folder gets `<stem>.jpg`, or `<stem>_1.jpg` ... when that name is taken
    (two inputs `a.png` and `a.jpg`, or, unless `overwrite`, a file already there), so no photo replaces
    another. `this_run`: the copies this run wrote already, which even `overwrite` never replaces."""
    import cv2
    if _single_photo_output(src, out_path):
        target = out_path
    else:
        target = unique_path(out_path / (src.current_path.stem + ".jpg"),
                             taken=this_run.__contains__ if overwrite else None)
    make_parent(target, "output image")
    if not cv2.imwrite(str(target), annotated):
        raise OutputError(f"Could not write the annotated photo {target}: check that the folder is writable "
                          f"and has free space.")
    return target
