"""What the "?" hysteresis band buys: `python -m bench.unsure_band [CLIP[:CUT,CUT...]] ...`.

Runs the app's tracked pipeline over the demo clip (whole, shaken and exposure-drifted, with its two
cuts, as `bench.bench` does) and over the given clips once per `AppConfig.unsure_band_prob` value, and prints the
shown-label changes (same counting as `bench.bench`) and how often the parts were answered. Detections
are computed once per frame and replayed, so only the band changes between runs.
"""
from __future__ import annotations

import json
import sys

from bench.bench import CLIP, jittered, load_segments, read_clip, stream_stability
from bench.scenecuts import parse_clip
from core.cli import OneLineParser, run_tool

BANDS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25)


def replaying(detector):
    """Wrap `detector.detect` so each distinct frame is detected once."""
    seen: dict = {}
    detect = detector.detect

    def cached(frame):
        key = (frame.shape, frame[::29, ::31].tobytes())
        if key not in seen:
            seen[key] = detect(frame)
        return list(seen[key])
    detector.detect = cached


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("clips", nargs="*", type=parse_clip, metavar="CLIP[:FRAME,FRAME]",
                   help="real clips, CLIP or CLIP:FRAME,FRAME (frame indices of cuts)")
    args = p.parse_args(argv)
    from pipeline.analyzer import FaceAnalyzer
    analyzer = FaceAnalyzer()
    replaying(analyzer.detector)
    segments = load_segments(CLIP)
    cuts = [seg["first_frame"] for seg in json.loads(CLIP.with_suffix(".json").read_text())["segments"][1:]]
    streams = [("demo clip, cuts + jitter", jittered([f for s in segments for f in s["frames"]]),
                segments[0]["fps"], cuts)]
    streams += [read_clip(clip) for clip in args.clips]
    print(f"{'band':>5}  {'clip':<34} {'changes':>7} {'person-min':>10} {'gender answered':>15} {'age answered':>12}")
    for band in BANDS:
        analyzer.configure(unsure_band_prob=band)
        total = 0
        for name, frames, fps, clip_cuts in streams:
            r = stream_stability(analyzer, frames, fps, clip_cuts)
            total += r["label_changes"]
            cell = lambda v: "n/a" if v is None else f"{v:.0%}"  # noqa: E731
            print(f"{band:5.2f}  {name[:34]:<34} {r['label_changes']:7d} {r['person_minutes']:10.2f} "
                  f"{cell(r['gender_answered']):>15} {cell(r['age_answered']):>12}")
        print(f"{band:5.2f}  {'all':<34} {total:7d}")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
