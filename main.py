"""Face age & gender: live webcam/video analysis (`face-age-gender`, or `python main.py`) or headless
processing (`--headless`)."""
from __future__ import annotations

import argparse
import os
import signal
import sys

import runtime
from core.cli import EXIT_BAD_INPUT, OneLineParser, catch_exit_signals, number_in, path_name, some_names

runtime.configure_environment()


def parse_args(argv=None) -> argparse.Namespace:
    from core.config import CONFIDENCE_RANGE, CROP_SCALE_RANGE, AppConfig
    defaults = AppConfig()
    p = OneLineParser(description="Find every face and show gender and age group, live.")
    p.add_argument("--camera", type=number_in(0, 255, int), default=None, help="camera index to open (default: the last one used, 0 at first)")
    p.add_argument("--source", default=None, help="video file, image or folder instead of a camera")
    p.add_argument("--headless", action="store_true", help="no window: process --source and exit")
    p.add_argument("--output", type=path_name, default=None,
                   help="headless: annotated video (.mp4/.avi), image, or folder")
    p.add_argument("--results", type=path_name, default=None,
                   help="headless: one row per face per frame (.csv or .jsonl)")
    p.add_argument("--crop-scale", type=number_in(*CROP_SCALE_RANGE), default=None,
                   help="face-extraction size, %.1f-%.1f x the box (default %.1f; in the window: this run only, "
                        "the slider's saved value is kept)" % (*CROP_SCALE_RANGE, defaults.crop_scale))
    p.add_argument("--confidence", type=number_in(*CONFIDENCE_RANGE), default=None,
                   help="minimum detection confidence, %g-%g (default %g; in the window: this run only)"
                        % (*CONFIDENCE_RANGE, defaults.detection_confidence))
    p.add_argument("--detector", default=None, help="detector weights (.onnx)")
    p.add_argument("--classifier", default=None, help="classifier weights (.tflite)")
    p.add_argument("--trust-checkpoints", action="store_true",
                   help="also accept .pt/.keras training checkpoints for --detector/--classifier; loading one "
                        "runs code stored in it, so use only files you made yourself")
    p.add_argument("--no-smoothing", action="store_true", help="show raw per-frame labels (in the window: this run only; "
                                                               "Playback > Steady labels switches it)")
    p.add_argument("--no-progress", action="store_true",
                   help="headless: no progress bar (none is drawn anyway when stderr is not a terminal)")
    p.add_argument("--summary", type=path_name, default=None, metavar="PATH.json",
                   help="headless: distinct people, by gender and age group, written at the end (.json or .csv)")
    p.add_argument("--blur", action="store_true", help="headless: blur faces in --output (labels stay readable)")
    p.add_argument("--overwrite", action="store_true",
                   help="headless: replace --output/--results/--summary files that already exist (default: refuse); "
                        "in an --output folder, a photo's copy replaces the file of its name")
    p.add_argument("--exit-after-frames", type=number_in(0, 10**9, int), default=0,
                   help=argparse.SUPPRESS)  # startup benchmark
    return p.parse_args(argv)


def config_from_args(args):
    from pathlib import Path

    from core.config import AppConfig
    overrides = {"trust_checkpoints": args.trust_checkpoints}
    if args.crop_scale is not None:
        overrides["crop_scale"] = args.crop_scale
    if args.confidence is not None:
        overrides["detection_confidence"] = args.confidence
    if args.detector:
        overrides["detector_weights"] = Path(args.detector)
    if args.classifier:
        overrides["classifier_weights"] = Path(args.classifier)
    if args.no_smoothing:
        overrides["smoothing"] = False
    from classification.classifier import CHECKPOINT_SUFFIX as CLASSIFIER_CHECKPOINT
    from detection.detector import CHECKPOINT_SUFFIX as DETECTOR_CHECKPOINT
    checkpoints = [p for p, suffix in ((args.detector, DETECTOR_CHECKPOINT), (args.classifier, CLASSIFIER_CHECKPOINT))
                   if p and Path(p).suffix.lower() == suffix and Path(p).is_file()]  # a missing one: its error alone
    if args.trust_checkpoints and checkpoints:
        print(f"warning: loading {', '.join(checkpoints)} runs code stored in the file (--trust-checkpoints); "
              f"use only checkpoints you made yourself.", file=sys.stderr)
    return AppConfig().changed(**overrides)


def stop_on_signals(stop, received: list) -> dict:
    """Ctrl-C, SIGTERM and a closed terminal (SIGHUP) set `stop` instead of killing the run mid-frame: the
    loop then closes the video (an .mp4 without its closing index does not play) and the results file.
    Returns the old handlers."""
    def handler(signum, _frame):
        received.append(signum)
        stop.set()
    return catch_exit_signals(handler)


def print_run(run) -> None:
    fps = run.frames / run.seconds if run.seconds > 0 else 0.0
    print(f"{run.frames} frames, {run.faces} faces, {fps:.1f} frames/s"
          + (f"; output: {run.output}" if run.output else "")
          + (f"; results: {run.results}" if run.results else "")
          + (f"; {run.people} {'person' if run.people == 1 else 'people'}: {run.summary}" if run.summary else ""))
    if run.skipped:
        print(f"warning: skipped {len(run.skipped)} file(s) that are not readable images: "
              f"{some_names(run.skipped)}", file=sys.stderr)


def run_headless(args) -> int:
    import threading

    from core.errors import SourceError, WeightsError
    from core.images import FrameError
    from pipeline.headless import run_headless as run
    from pipeline.sources import early_end_note
    if args.camera is not None:
        args.source = str(args.camera)  # `--headless --camera 2` is `--headless --source 2`
    if not args.source:
        print("error: --headless needs --source VIDEO|IMAGE|FOLDER|CAMERA (a camera is its index, e.g. 0) or "
              "--camera N", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.blur and not args.output:
        print("note: --blur only changes --output; no --output was given", file=sys.stderr)
    stop, received = threading.Event(), []
    previous = stop_on_signals(stop, received)
    try:
        result = run(args.source, args.output, args.results, config_from_args(args),
                     progress=not args.no_progress and sys.stderr.isatty(), stop=stop, summary=args.summary,
                     blur=args.blur, overwrite=args.overwrite)
    except (SourceError, WeightsError, FrameError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a disk or permission problem the checks could not foresee
        print(f"error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}. "
              f"Check the paths and free space, then retry.", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug: its traceback for the report, then the one line to read
        import traceback
        traceback.print_exc()
        print(f"error: unexpected {type(exc).__name__}: {exc}. What was written so far is complete; please "
              f"report this, with the traceback above and the command you ran.", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print_run(result)
    if not (args.output or args.results or args.summary):
        print("note: no --output, --results or --summary was given, so nothing was saved", file=sys.stderr)
    if result.summary and result.people == 0 and result.faces > 0:
        from pipeline.summary import MIN_PERSON_FRAMES, MIN_PERSON_SEEN_S
        print(f"note: the summary counts no person although faces were shown: a person is a face that stays "
              f"{MIN_PERSON_SEEN_S:g} s and {MIN_PERSON_FRAMES} frames in view and gets a label", file=sys.stderr)
    if result.renamed:
        shown = ", ".join(f"{photo.name} -> {copy.name}" for photo, copy in result.renamed[:3])
        more = f" and {len(result.renamed) - 3} more" if len(result.renamed) > 3 else ""
        hint = "" if args.overwrite else "; --overwrite lets a rerun replace its earlier copies"
        print(f"note: {len(result.renamed)} annotated {'photo' if len(result.renamed) == 1 else 'photos'} got a "
              f"numbered name, as the plain one was taken: {shown}{more}{hint}", file=sys.stderr)
    unwritten = [asked for asked, written in ((args.output, result.output), (args.results, result.results),
                                              (args.summary, result.summary)) if asked and written is None]
    if unwritten:
        print(f"note: {', '.join(map(str, unwritten))} {'was' if len(unwritten) == 1 else 'were'} not written: "
              f"no frame was analysed", file=sys.stderr)
    if result.ended_early:
        print(f"warning: {early_end_note(args.source, result.frames, result.announced_frames)} The outputs cover "
              f"what could be read.", file=sys.stderr)
    if result.interrupted:
        print(f"interrupted after {result.frames} frames: what was written so far is complete and kept",
              file=sys.stderr)
        return 128 + (received[0] if received else signal.SIGINT)
    return 0


def display_missing() -> bool:
    """True on a Linux machine with no screen to open the window on (no X11 or Wayland display, and no
    QT_QPA_PLATFORM such as `offscreen` chosen): Qt would abort there with a cryptic message."""
    return sys.platform.startswith("linux") and not any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv=None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while the libraries load, before the run's own handler is set
        print("interrupted while starting: nothing was written", file=sys.stderr)
        return 128 + signal.SIGINT


def _main(argv=None) -> int:
    args = parse_args(argv)
    if args.camera is not None and args.source:  # in the window as headless: one of them would be ignored
        print(f"error: give --source or --camera, not both (--source {args.source} would be read and "
              f"--camera {args.camera} ignored)", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.headless:
        return run_headless(args)
    if display_missing():
        print("error: there is no display to open the window on: run without a window, e.g. "
              "`face-age-gender --headless --source clip.mp4 --output annotated.mp4` (a camera: --source 0, "
              "stop with Ctrl-C), or log in to a desktop session", file=sys.stderr)
        return EXIT_BAD_INPUT
    ignored = headless_only_flags(args)
    if ignored:
        verb = "applies" if len(ignored) == 1 else "apply"
        print(f"note: {', '.join(ignored)} only {verb} with --headless; in the window, use File > Record (R), "
              f"File > Snapshot (S), File > Export summary (Ctrl+E) and View > Blur faces (B) instead", file=sys.stderr)
    from gui.app import run_gui
    return run_gui(args, config_from_args(args))


def headless_only_flags(args) -> list[str]:
    """The headless-only flags given to a window run, which would otherwise be ignored without a word."""
    given = {"--output": args.output, "--results": args.results, "--summary": args.summary, "--blur": args.blur,
             "--overwrite": args.overwrite, "--no-progress": args.no_progress}
    return [flag for flag, value in given.items() if value]


if __name__ == "__main__":
    sys.exit(main())
