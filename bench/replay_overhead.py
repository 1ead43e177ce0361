"""Per-frame cost of the pipeline minus the detector: `python -m bench.replay_overhead`.

Why: on a shared, loaded machine the detector's time swings by 100+ ms from frame to frame, which hides
a change of a fraction of a millisecond elsewhere. This records each demo segment's detections once,
then replays them to `FaceAnalyzer.track` + drawing, three passes, and prints the mean ms per frame of
each pass and the best. To compare two versions, run this same file in both checkouts
(`PYTHONPATH=<checkout> python bench/replay_overhead.py`).
"""
from __future__ import annotations

import statistics
import sys

from core.cli import OneLineParser
from core.config import DEFAULT_CONFIDENCE


class ReplayDetector:
    """Hands back recorded detections in order, so every pass sees exactly the same boxes."""

    confidence = DEFAULT_CONFIDENCE

    def __init__(self, detections):
        self.detections, self.index = detections, 0

    def detect(self, frame):
        found = self.detections[self.index % len(self.detections)]
        self.index += 1
        return found


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--passes", type=int, default=3, help="replays of each segment, 1 or more (default: %(default)s)")
    p.add_argument("--warmup-frames", type=int, default=3,
                   help="frames of each pass left out of its mean, 0-100 (default: %(default)s; segments have 120)")
    args = p.parse_args(argv)
    if args.passes < 1:
        p.error(f"--passes {args.passes}: give 1 or more")
    if not 0 <= args.warmup_frames <= 100:
        p.error(f"--warmup-frames {args.warmup_frames}: give 0-100")
    passes, warmup_frames = args.passes, args.warmup_frames
    from bench.bench import CLIP, load_segments
    from core.config import AppConfig
    from detection import FaceDetector
    from pipeline.analyzer import FaceAnalyzer
    from pipeline.annotate import FaceAnnotator
    from pipeline.session import Session

    detector = FaceDetector()
    classifier = FaceAnalyzer(AppConfig(), detector=detector).classifier
    annotator = FaceAnnotator()
    for seg in load_segments(CLIP):
        replay = ReplayDetector([detector.detect(f) for f in seg["frames"]])
        analyzer = FaceAnalyzer(AppConfig(), detector=replay, classifier=classifier)
        session = Session(analyzer, annotator=annotator)  # the app's frame loop: track, then draw
        means = []
        for _ in range(passes):
            session.restart()
            replay.index = 0
            times = [result.timings.total_ms for result in session.run(seg["frames"])]
            means.append(statistics.mean(times[warmup_frames:]))
        print(f"{seg['faces']} faces: ms per frame without detection {[round(m, 2) for m in means]}, "
              f"best {min(means):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
