"""Measure the scene-cut threshold: `python -m bench.scenecuts [CLIP[:CUT,CUT...]] ...`.

For each clip, the histogram distance (`pipeline.scenecut`) between consecutive frames is split into
frames that are known cuts and frames that are not: the demo clip's cuts are its segment boundaries
(demo/demo_faces.json); other clips take their cut frames after a colon (frame indices counted from 0,
found by eye), e.g. `clip.mp4:20,82,211`, and no colon means "no cuts". Synthetic cuts are added by
splicing every clip's frames onto every other clip's (the last frame of one, the first of the next).
Prints the largest within-shot distance, the smallest cut distance and how `CUT_DISTANCE` splits them.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from core.cli import OneLineParser, run_tool
from core.errors import SourceError
from core.paths import DEMO_CLIP
from pipeline.scenecut import CUT_DISTANCE, frame_signature, signature_distance


def read_frames(path: str | Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def demo_cut_frames(clip: Path) -> list[int]:
    meta = json.loads(clip.with_suffix(".json").read_text())
    return [seg["first_frame"] for seg in meta["segments"][1:]]


def parse_clip(spec: str) -> tuple[Path, list[int]]:
    """`CLIP` or `CLIP:FRAME,FRAME` (frame indices of the clip's hard cuts, counted from 0) as
    (path, cut frames); an argparse type, so a bad spec or a missing clip is refused before any work."""
    path, _, cuts = spec.partition(":")
    try:
        frames = [int(c) for c in cuts.split(",") if c.strip()]
    except ValueError:
        frames = None
    if not path or frames is None or any(f < 0 for f in frames):
        raise argparse.ArgumentTypeError(f"{spec!r} is not CLIP or CLIP:FRAME,FRAME (the frame indices of the "
                                         f"clip's cuts, whole numbers from 0), e.g. clip.mp4:20,82")
    if not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"no clip at {path} (check the path)")
    return Path(path), frames


def measure(clips: list[tuple[Path, list[int]]]) -> dict:
    within, cuts, per_clip, ends = [], [], {}, []
    for path, cut_frames in clips:
        frames = read_frames(path)
        if not frames:
            raise SourceError(f"no frames could be read from {path}: give a video or GIF that plays")
        sigs = [frame_signature(f) for f in frames]
        dist = [signature_distance(a, b) for a, b in zip(sigs, sigs[1:])]  # dist[i]: frame i+1 vs frame i
        clip_cuts = [dist[c - 1] for c in cut_frames if 0 < c < len(frames)]
        clip_within = [d for i, d in enumerate(dist) if i + 1 not in cut_frames]
        within += clip_within
        cuts += clip_cuts
        per_clip[path.name] = {"frames": len(frames), "max_within_shot": max(clip_within, default=0.0),
                               "cut_distances": [round(d, 3) for d in clip_cuts]}
        ends.append((sigs[0], sigs[-1]))
    spliced = [signature_distance(a[1], b[0]) for a, b in itertools.permutations(ends, 2)]
    return {"cut_distance": CUT_DISTANCE, "clips": per_clip,
            "within_shot": {"frames": len(within), "max": max(within, default=0.0),
                            "p99": float(np.percentile(within, 99)) if within else 0.0,
                            "false_cuts": int(sum(d > CUT_DISTANCE for d in within))},
            "real_cuts": {"cuts": len(cuts), "min": min(cuts, default=None),
                          "missed": int(sum(d <= CUT_DISTANCE for d in cuts))},
            "spliced_cuts": {"cuts": len(spliced), "min": min(spliced, default=None),
                             "missed": int(sum(d <= CUT_DISTANCE for d in spliced))}}


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("clips", nargs="*", type=parse_clip, metavar="CLIP[:FRAME,FRAME]",
                   help="more clips, CLIP or CLIP:FRAME,FRAME (frame indices of cuts)")
    p.add_argument("--no-demo", action="store_true", help="leave out the demo clip")
    args = p.parse_args(argv)
    if args.no_demo and not args.clips:
        p.error("nothing to measure: give clips (CLIP or CLIP:FRAME,FRAME), or drop --no-demo")
    clips = [] if args.no_demo else [(DEMO_CLIP, demo_cut_frames(DEMO_CLIP))]
    clips += args.clips
    print(json.dumps(measure(clips), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
