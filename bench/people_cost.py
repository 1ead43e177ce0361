"""What the people panel, the session summary and face blurring cost: `python -m bench.people_cost`.

Worker side: `PeopleFeed.observe` (frame copy, optional blur, summary update, panel rows when due) per
frame of the demo clip's 8-face segment, with the shipped detector's real boxes, against the plain
frame copy the worker made before. GUI side: one `PeoplePanel.show_rows` refresh with 8 rows and one
render of the summary chart (offscreen). Median, mean and max; prints a small table.
"""
from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from bench.bench import CLIP, load_segments  # noqa: E402
from core.cli import OneLineParser, run_tool  # noqa: E402
from core.labels import NUM_AGE_GROUPS  # noqa: E402
from runtime import configure_environment  # noqa: E402

PEOPLE_SEGMENT_FACES = 8


def timings_ms(fn, items) -> tuple[float, float, float]:
    """(median, mean, max) milliseconds of fn over items: the mean and max show work done 1-in-N frames."""
    times = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), statistics.fmean(times), max(times)


def main(argv=None) -> int:
    OneLineParser(description=__doc__.splitlines()[0]).parse_args(argv)  # --help; no options
    configure_environment()
    from PyQt6.QtWidgets import QApplication

    from detection import FaceDetector
    from gui.people_feed import PeopleFeed
    from gui.people_panel import PeoplePanel
    from gui.summary_view import SummaryDock
    from pipeline.sources import open_source
    from pipeline.tracker import IouTracker

    app = QApplication.instance() or QApplication([])
    segment = next(s for s in load_segments(CLIP) if s["faces"] == PEOPLE_SEGMENT_FACES)
    detector, tracker = FaceDetector(), IouTracker()
    frames = []
    for frame in segment["frames"]:
        faces = detector.detect(frame)
        for face, track in zip(faces, tracker.update(faces)):
            face.track_id = track.track_id
        labelled = [f.with_classification("female", 0.8, np.full(NUM_AGE_GROUPS, 1 / NUM_AGE_GROUPS)) for f in faces]
        frames.append((frame, labelled))

    def run(blur: bool, rows: bool):
        feed = PeopleFeed()
        feed.start(open_source(str(CLIP)))
        feed.blur, feed.rows_wanted = blur, rows
        return timings_ms(lambda item: (feed.observe(*item), feed.take_updates()), frames)

    results = {"frame copy only (before)": timings_ms(lambda item: item[0].copy(), frames),
               "observe: summary": run(False, False),
               "observe: summary + panel rows (5/s)": run(False, True),
               "observe: summary + blur": run(True, False),
               "observe: summary + blur + panel rows": run(True, True)}
    feed = PeopleFeed()
    feed.start(open_source(str(CLIP)))
    feed.rows_wanted = True
    feed._next_rows_at = float("inf")
    row_sets = []
    for frame, faces in frames:
        feed._next_rows_at = 0.0
        feed.observe(frame, faces)
        rows, _ = feed.take_updates()
        row_sets.append(rows)
    panel = PeoplePanel()
    panel.resize(460, 600)
    panel.show()
    results["GUI: panel refresh, 8 rows"] = timings_ms(lambda rows: (panel.show_rows(rows), panel.table.viewport().grab()),
                                                     row_sets)
    dock = SummaryDock(panel.toggleViewAction())
    dock.resize(420, 260)
    dock.show()
    summary = feed.final_summary()
    results["GUI: summary chart repaint"] = timings_ms(lambda _: (dock.set_summary(summary), dock.chart.grab()),
                                                     range(50))
    print(f"{'8 faces, 640x480, ' + str(len(frames)) + ' frames; ms':45s} median   mean    max")
    for name, (med, mean, peak) in results.items():
        print(f"{name:45s} {med:6.2f} {mean:6.2f} {peak:6.2f}")
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
