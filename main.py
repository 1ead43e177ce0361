"""Face age & gender: live webcam/video analysis (`python main.py`) or headless processing (`--headless`)."""
from __future__ import annotations

import argparse
import sys

import runtime

runtime.configure_environment()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Find every face and show gender and age group, live.")
    p.add_argument("--camera", type=int, default=None, help="camera index to open (default 0)")
    p.add_argument("--source", default=None, help="video file, image or folder instead of a camera")
    p.add_argument("--headless", action="store_true", help="no window: process --source and exit")
    p.add_argument("--output", default=None, help="headless: annotated video (.mp4/.avi), image, or folder")
    p.add_argument("--results", default=None, help="headless: one row per face per frame (.csv or .jsonl)")
    p.add_argument("--crop-scale", type=float, default=None, help="face-extraction size, 1.0-2.0 x the box")
    p.add_argument("--confidence", type=float, default=None, help="minimum detection confidence")
    p.add_argument("--detector", default=None, help="detector weights (.onnx/.pt)")
    p.add_argument("--classifier", default=None, help="classifier weights (.tflite/.keras)")
    p.add_argument("--no-smoothing", action="store_true", help="show raw per-frame labels")
    p.add_argument("--no-progress", action="store_true", help="headless: no progress bar")
    p.add_argument("--summary", default=None, metavar="PATH.json",
                   help="headless: distinct people, by gender and age group, written at the end (.json or .csv)")
    p.add_argument("--blur", action="store_true", help="headless: blur faces in --output (labels stay readable)")
    p.add_argument("--exit-after-frames", type=int, default=0, help=argparse.SUPPRESS)  # startup benchmark
    return p.parse_args(argv)


def config_from_args(args):
    from pathlib import Path

    from pipeline.config import AppConfig
    config = AppConfig()
    if args.crop_scale is not None:
        config.crop_scale = args.crop_scale
    if args.confidence is not None:
        config.detection_confidence = args.confidence
    if args.detector:
        config.detector_weights = Path(args.detector)
    if args.classifier:
        config.classifier_weights = Path(args.classifier)
    if args.no_smoothing:
        config.smoothing = False
    return config.clamp()


def run_headless(args) -> int:
    from pipeline.errors import SourceError, WeightsError
    from pipeline.headless import run_headless as run
    if not args.source:
        print("error: --headless needs --source VIDEO|IMAGE|FOLDER", file=sys.stderr)
        return 2
    if args.blur and not args.output:
        print("note: --blur only changes --output; no --output was given", file=sys.stderr)
    try:
        summary = run(args.source, args.output, args.results, config_from_args(args), progress=not args.no_progress,
                      summary=args.summary, blur=args.blur)
    except (SourceError, WeightsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    fps = summary.frames / summary.seconds if summary.seconds > 0 else 0.0
    print(f"{summary.frames} frames, {summary.faces} faces, {fps:.1f} frames/s"
          + (f"; video: {summary.output}" if summary.output else "")
          + (f"; results: {summary.results}" if summary.results else "")
          + (f"; {summary.people} people: {summary.summary}" if summary.summary else ""))
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.headless:
        return run_headless(args)
    from gui.app import run_gui
    return run_gui(args, config_from_args(args))


if __name__ == "__main__":
    sys.exit(main())
