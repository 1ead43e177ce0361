"""Process a video, image or folder without a window: annotated output, results table, progress bar."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from pipeline.analyzer import FaceAnalyzer
from pipeline.annotate import FaceAnnotator
from pipeline.config import AppConfig
from pipeline.outputs import ResultsWriter, VideoRecorder
from pipeline.sources import ImageFilesSource, open_source


@dataclass
class RunSummary:
    frames: int
    faces: int
    seconds: float
    output: Path | None
    results: Path | None


def run_headless(source: str, output: str | None, results: str | None, config: AppConfig | None = None,
                 progress: bool = True, analyzer: FaceAnalyzer | None = None) -> RunSummary:
    """Analyse every frame of `source`; raises SourceError/WeightsError with a message for the user.

    Videos are tracked (stable ids, smoothed labels; a face gets rows from the frame its track is
    confirmed on, each with a label, since a file is not held to the live classification budget);
    photos are analysed one by one, so one person's labels never leak into the next picture. For a folder, `output` is a folder of annotated images.
    """
    src = open_source(source)
    analyzer = analyzer or FaceAnalyzer(config)
    analyzer.config.realtime = src.is_live  # a file has no frame budget: every shown face is labelled
    annotator = FaceAnnotator(show_track_id=not isinstance(src, ImageFilesSource))
    photos = isinstance(src, ImageFilesSource)
    out_path = Path(output) if output else None
    recorder = None if (out_path is None or photos) else VideoRecorder(out_path, src.fps)
    writer = ResultsWriter(results) if results else None
    frames = faces_total = 0
    start = time.perf_counter()
    bar = tqdm(total=src.frame_count or None, unit="frame", disable=not progress, desc=src.name)
    try:
        while (frame := src.read()) is not None:
            faces = analyzer.analyze(frame) if photos else analyzer.track(frame)
            name = src.current_path.name if photos else src.name
            if writer:
                writer.write(frames, frames / src.fps if not photos else 0.0, name, faces)
            if out_path is not None:
                from pipeline.images import to_bgr
                annotated = annotator.annotate(to_bgr(frame).copy(), faces)
                if recorder:
                    recorder.write(annotated)
                else:
                    _write_photo(out_path, src, annotated)
            frames += 1
            faces_total += len(faces)
            bar.update(1)
            bar.set_postfix(faces=len(faces))
    finally:
        bar.close()
        src.close()
        if recorder:
            recorder.close()
        if writer:
            writer.close()
    return RunSummary(frames, faces_total, time.perf_counter() - start, out_path, Path(results) if results else None)


def _write_photo(out_path: Path, src: ImageFilesSource, annotated) -> None:
    import cv2
    if len(src.paths) == 1 and out_path.suffix:
        target = out_path
    else:
        out_path.mkdir(parents=True, exist_ok=True)
        target = out_path / (src.current_path.stem + ".jpg")
    target.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(target), annotated)
