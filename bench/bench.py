"""Frame-budget benchmark: `python -m bench.bench` (writes a table and bench/results.json).

Runs the real pipeline with the shipped weights over the demo clip's 640x480 segments with 1, 3 and 8
faces and reports, for the app's tracked mode and for a plain baseline (detect + classify every face on
every frame, no tracking) in the same process:
* end-to-end frames per second and per-stage latency (decode, detect, crop, classify, track, draw),
  median and 95th percentile;
* label stability: how often a person's shown gender or age group changes per minute of video, with
  smoothing on and off; and the same on footage with cuts and camera jitter: the whole demo clip with its
  two hard cuts, shaken and flickered (`jittered`), plus any real clips given with `--real-clip`
  (shown labels count "?" parts and "too small"/"too dark" markers as labels of their own);
* peak resident memory of this process, and the time from `python main.py --source clip` to the first
  drawn frame (a separate process, offscreen).
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from core.cli import OneLineParser, check_writable, number_in, run_tool
from core.errors import SourceError
from core.images import plausible_fps
from core.paths import DEMO_CLIP as CLIP, REPO_ROOT

STAGES = ("decode", "detect", "crop", "classify", "track", "draw", "total")
STABILITY_MODES = ("app", "no_smoothing", "no_cuts_no_confirmation")
RESULTS = REPO_ROOT / "bench" / "results.json"


def load_segments(clip: Path) -> list[dict]:
    meta = json.loads(clip.with_suffix(".json").read_text())
    cap = cv2.VideoCapture(str(clip))
    frames = []
    decode_ms = []
    while True:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        if not ok:
            break
        decode_ms.append((time.perf_counter() - t0) * 1e3)
        frames.append(frame)
    segments = []
    for seg in meta["segments"]:
        sl = slice(seg["first_frame"], seg["first_frame"] + seg["frames"])
        segments.append({"faces": seg["faces"], "frames": frames[sl], "decode_ms": decode_ms[sl], "fps": meta["fps"]})
    return segments


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def shown_label(face) -> tuple | None:
    """What the user reads on the tag, without the percentages: ('F', '25-32'), ('?', '25-32'),
    ('too small',); None while a face has no label yet."""
    if face.unjudgeable:
        return (face.unjudgeable,)
    if not face.is_classified:
        return None
    return (face.shown_gender or "?", "?" if face.age_unsure else face.age_group)


def label_changes_per_minute(per_frame_faces: list[list], fps: float, cut_frames=()) -> float:
    """Shown-label changes per person per minute, identities from box overlap across frames (the
    bench's own IoU tracker, independent of the app's; it starts afresh at the known `cut_frames`)."""
    return per_person_minute(*count_label_changes(per_frame_faces, cut_frames), fps)


def per_person_minute(changes: int, person_frames: int, fps: float) -> float:
    minutes = person_frames / fps / 60.0
    return changes / minutes if minutes > 0 else float("nan")


def label_transitions(per_frame_faces: list[list], cut_frames=()) -> tuple[list[tuple], int]:
    """([(label before, label after) for each shown-label change], labelled person-frames); identities
    as in `label_changes_per_minute`."""
    from pipeline.tracker import IouTracker
    ident = IouTracker(0.3, 5)
    last, transitions, person_frames = {}, [], 0
    for i, faces in enumerate(per_frame_faces):
        if i in cut_frames:
            ident.start_new_shot()
        tracks = ident.update(faces)
        for face, track in zip(faces, tracks):
            label = shown_label(face)
            if label is None:
                continue
            person_frames += 1
            if track.track_id in last and last[track.track_id] != label:
                transitions.append((last[track.track_id], label))
            last[track.track_id] = label
    return transitions, person_frames


def count_label_changes(per_frame_faces: list[list], cut_frames=()) -> tuple[int, int]:
    """(shown-label changes, labelled person-frames); see `label_changes_per_minute`."""
    transitions, person_frames = label_transitions(per_frame_faces, cut_frames)
    return len(transitions), person_frames


def changes_by_part(transitions: list[tuple]) -> dict[str, int]:
    """How many changes touched each part of the tag: "gender", "age" (one change can touch both), or
    "marker" (a marker came or went)."""
    counts = {"gender": 0, "age": 0, "marker": 0}
    for before, after in transitions:
        if len(before) == 1 or len(after) == 1:
            counts["marker"] += 1
            continue
        counts["gender"] += before[0] != after[0]
        counts["age"] += before[1] != after[1]
    return counts


def jittered(frames: list[np.ndarray], seed: int = 0, shake_px: int = 4, gain: float = 0.15) -> list[np.ndarray]:
    """A hand-held, auto-exposed look: each frame shifted by up to `shake_px`, its brightness drifting
    (a random walk of 1.5% steps within +-`gain`, as auto-exposure does), with a little sensor noise."""
    rng = np.random.default_rng(seed)
    out, exposure = [], 1.0
    for frame in frames:
        dx, dy = rng.integers(-shake_px, shake_px + 1, 2)
        exposure = float(np.clip(exposure + rng.normal(0, 0.015), 1 - gain, 1 + gain))
        moved = cv2.warpAffine(frame, np.float32([[1, 0, dx], [0, 1, dy]]), (frame.shape[1], frame.shape[0]),
                               borderMode=cv2.BORDER_REPLICATE)
        noisy = moved.astype(np.float32) * exposure + rng.normal(0, 2.0, moved.shape)
        out.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return out


def stream_stability(analyzer, frames: list[np.ndarray], fps: float, cut_frames=()) -> dict:
    """Run the tracked pipeline over a stream; shown-label changes and what the tags answered."""
    from pipeline.session import Session
    session = Session(analyzer, fps=fps, draw=False)
    session.restart()
    outputs = [result.faces for result in session.run(frames)]
    shown = [f for faces in outputs for f in faces]
    labelled = [f for f in shown if shown_label(f) is not None]
    judged = [f for f in labelled if not f.unjudgeable]
    transitions, person_frames = label_transitions(outputs, set(cut_frames))  # one identity pass for all three
    return {"frames": len(frames), "seconds": len(frames) / fps, "faces_shown": len(shown),
            "track_ids": len({f.track_id for f in shown}), "cuts_detected": analyzer.scene_cuts_seen,
            # None, not NaN, where no face was ever labelled: results.json stays strict JSON
            "label_changes_per_min": per_person_minute(len(transitions), person_frames, fps) if labelled else None,
            "label_changes": len(transitions),
            "label_changes_by_part": changes_by_part(transitions),
            "person_minutes": len(labelled) / fps / 60.0,
            "gender_answered": float(np.mean([not f.gender_unsure for f in judged])) if judged else None,
            "age_answered": float(np.mean([not f.age_unsure for f in judged])) if judged else None,
            "unjudgeable": float(np.mean([bool(f.unjudgeable) for f in labelled])) if labelled else None}


def check_demo_clip(clip: Path) -> None:
    """SourceError, before any work, for a --clip that is missing or has no segment list beside it."""
    meta = clip.with_suffix(".json")
    if not clip.is_file():
        raise SourceError(f"no clip at {clip}: give --clip a clip made by `python -m demo.make_demo_clip` "
                          f"(default: the demo clip), or measure a clip of your own with --real-clip")
    if not meta.is_file():
        raise SourceError(f"{clip} has no {meta.name} beside it (its segments' faces and frames, as "
                          f"`python -m demo.make_demo_clip` writes): give that clip with its .json, or measure "
                          f"a clip of your own with --real-clip")


def check_out(out: Path, explicit: bool, overwrite: bool) -> None:
    """Before any work: `out` names a writable file in an existing folder, and (when the user named it) no
    file is there yet unless `overwrite`; a tool's own default results file is rewritten."""
    check_writable(out, overwrite or not explicit)


def kept_results(out: Path, explicit: bool, overwrite: bool, stability_only: bool) -> dict | None:
    """The results already at `out` that a --stability-only run updates (their frame-budget rows are kept);
    FileExistsError, before any work, for any other file there that the run would replace without
    `overwrite` (see `check_out`)."""
    if not (stability_only and out.is_file() and not overwrite):
        check_out(out, explicit, overwrite)
        return None
    try:
        kept = json.loads(out.read_text())
    except (OSError, ValueError):
        kept = None
    if isinstance(kept, dict) and "segments" in kept:
        return kept
    raise FileExistsError(f"{out} is not a results file of bench.bench, so --stability-only has nothing to "
                          f"update there: choose a new --out, or pass --overwrite to replace it")


def read_clip(clip: tuple[Path, list[int]]) -> tuple[str, list[np.ndarray], float, list[int]]:
    """A clip and the frame indices of its hard cuts (found by eye), as `bench.scenecuts.parse_clip` gives them."""
    from bench.scenecuts import read_frames
    path, cuts = clip
    cap = cv2.VideoCapture(str(path))
    fps = plausible_fps(cap.get(cv2.CAP_PROP_FPS))
    cap.release()
    frames = read_frames(path)
    if not frames:
        raise SourceError(f"no frames could be read from {path}: give a video or GIF that plays")
    return path.name, frames, fps, cuts


def run_mode(analyzer, segment: dict, mode: str, annotator, warmup: int = 3) -> dict:
    """The app's own frame loop (`pipeline.session.Session`) over one segment: tracked, or every frame
    analysed as a photo (the baseline); per-stage times as the session reports them, plus decoding."""
    from pipeline.session import Session
    session = Session(analyzer, tracked=mode == "tracked", fps=segment["fps"], annotator=annotator)
    session.restart()
    timings = {s: [] for s in STAGES}
    outputs = []
    for i, result in enumerate(session.run(segment["frames"])):
        outputs.append(result.faces)
        if i < warmup:
            continue
        stage = result.timings.stages
        for key in ("detect", "crop", "classify", "track"):
            timings[key].append(getattr(stage, f"{key}_ms"))
        timings["decode"].append(segment["decode_ms"][i])
        timings["draw"].append(result.timings.draw_ms)
        timings["total"].append(result.timings.total_ms + segment["decode_ms"][i])
    total = sum(timings["total"])
    return {"fps": len(timings["total"]) / (total / 1e3) if total else float("nan"),
            "faces_per_frame": float(np.mean([len(f) for f in outputs])),
            "median_ms": {s: statistics.median(v) for s, v in timings.items() if v},
            "p95_ms": {s: pct(v, 95) for s, v in timings.items() if v},
            "label_changes_per_min": label_changes_per_minute(outputs, segment["fps"])}


def time_to_first_frame(clip: Path, timeout_s: float = 120.0) -> float | None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    try:
        result = subprocess.run([sys.executable, "main.py", "--source", str(clip), "--exit-after-frames", "1"],
                                cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    for line in result.stderr.splitlines():
        if line.startswith("first frame drawn after"):
            return float(line.split()[4])
    return None


def main(argv=None) -> int:
    from bench.scenecuts import parse_clip
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", default=str(CLIP), help="the clip of 1-, 3- and 8-face segments (default: the demo clip)")
    p.add_argument("--out", default=None, help=f"results file (default: {RESULTS.relative_to(REPO_ROOT)}, rewritten; "
                                               "--stability-only updates its label-stability rows)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a file already at an --out you name (default: refuse; the default results file, "
                        "tracked by git, is always rewritten: measure with --real-clips to keep its real-clip rows)")
    p.add_argument("--skip-startup", action="store_true", help="do not time the GUI's first frame")
    p.add_argument("--detector", default=None, help="detector weights to compare, .onnx (default: shipped)")
    p.add_argument("--classifier", default=None, help="classifier weights to compare, .tflite (default: shipped)")
    p.add_argument("--trust-checkpoints", action="store_true",
                   help="also accept .pt/.keras training checkpoints for --detector/--classifier; loading one "
                        "runs code stored in it, so use only files you made yourself")
    p.add_argument("--detector-imgsz", type=number_in(32, 4096, int), default=None,
                   help="detector input size, 32-4096 px (default: the app's)")
    p.add_argument("--real-clip", action="append", type=parse_clip, default=[], metavar="CLIP[:FRAME,FRAME]",
                   help="also measure label stability on this clip (its hard cuts' frame indices after ':')")
    p.add_argument("--real-clips", metavar="DIR", default=None,
                   help="also measure every clip of bench/real_clips.py found in DIR (python -m bench.real_clips DIR)")
    p.add_argument("--stability-only", action="store_true", help="skip the frame-budget runs")
    args = p.parse_args(argv)
    out = Path(args.out) if args.out else RESULTS
    kept = kept_results(out, args.out is not None, args.overwrite, args.stability_only)
    check_demo_clip(Path(args.clip))
    if args.real_clips:
        from bench.real_clips import specs
        if not Path(args.real_clips).is_dir():
            raise SourceError(f"no folder {args.real_clips}: copy the clips there first with "
                              f"`python -m bench.real_clips {args.real_clips}`")
        args.real_clip += [parse_clip(spec) for spec in specs(Path(args.real_clips))]
    from core.config import AppConfig
    from pipeline.analyzer import FaceAnalyzer
    from pipeline.annotate import FaceAnnotator

    config = AppConfig(trust_checkpoints=args.trust_checkpoints).changed(
        detector_weights=Path(args.detector) if args.detector else None,
        classifier_weights=Path(args.classifier) if args.classifier else None,
        detector_imgsz_px=args.detector_imgsz or AppConfig.detector_imgsz_px)
    smooth = FaceAnalyzer(config)  # bad weights are refused here, before the clip is decoded
    segments = load_segments(Path(args.clip))
    raw = FaceAnalyzer(replace(config, smoothing=False), detector=smooth.detector, classifier=smooth.classifier)
    annotator = FaceAnnotator()
    results = {"config": {k: str(v) for k, v in vars(config).items()}, "segments": [], "stability": []}
    for seg in ([] if args.stability_only else segments):
        row = {"faces": seg["faces"], "frames": len(seg["frames"]),
               "tracked": run_mode(smooth, seg, "tracked", annotator),
               "tracked_no_smoothing": run_mode(raw, seg, "tracked", annotator),
               "baseline_every_frame": run_mode(smooth, seg, "baseline", annotator)}
        results["segments"].append(row)
        print(f"{seg['faces']} faces: done", file=sys.stderr)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not args.skip_startup:
        results["first_frame_s"] = time_to_first_frame(Path(args.clip))
        results["gui_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # label stability after the memory readings: it holds whole clips in memory, the app never does (and a
    # child's peak RSS on Linux starts from its parent's at fork time)
    older = FaceAnalyzer(replace(config, scene_cuts=False, confirm_hits=1), detector=smooth.detector,
                         classifier=smooth.classifier)
    demo_fps = segments[0]["fps"]
    cuts = [seg["first_frame"] for seg in json.loads(Path(args.clip).with_suffix(".json").read_text())["segments"][1:]]
    streams = [("demo clip, cuts + jitter", jittered([f for seg in segments for f in seg["frames"]]), demo_fps, cuts)]
    streams += [read_clip(clip) for clip in args.real_clip]
    for name, frames, fps, clip_cuts in streams:
        results["stability"].append({"clip": name, "cuts": clip_cuts,
                                     "app": stream_stability(smooth, frames, fps, clip_cuts),
                                     "no_smoothing": stream_stability(raw, frames, fps, clip_cuts),
                                     "no_cuts_no_confirmation": stream_stability(older, frames, fps, clip_cuts)})
        print(f"stability on {name}: done", file=sys.stderr)
    if len(streams) > 1:  # all real clips together: a per-minute figure over more than a few seconds
        results["real_clips_total"] = real_clips_total(results["stability"][1:])
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if kept is not None:  # --stability-only: keep the last full run's frame-budget rows
        kept.pop("real_clips_total", None)
        kept.update(stability=results["stability"], stability_config=results["config"],
                    **{k: results[k] for k in ("real_clips_total",) if k in results})
        results = kept
    out.write_text(json.dumps(results, indent=1))
    print_table(results)
    return 0


def real_clips_total(rows: list[dict]) -> dict:
    """Per mode, the clips pooled: label changes per labelled person-minute, and the share of judged
    face-frames (labelled, no marker) whose gender and age group were answered, each clip weighted by its
    judged person-minutes."""
    total = {}
    for mode in STABILITY_MODES:
        runs = [r[mode] for r in rows]
        changes = sum(r["label_changes"] for r in runs)
        minutes = sum(r["person_minutes"] for r in runs)
        judged = [(r, r["person_minutes"] * (1.0 - (r["unjudgeable"] or 0.0))) for r in runs
                  if r["gender_answered"] is not None]
        weight = sum(w for _, w in judged)
        answered = {key: sum(r[key] * w for r, w in judged) / weight if weight else None
                    for key in ("gender_answered", "age_answered")}
        parts = {part: sum(r.get("label_changes_by_part", {}).get(part, 0) for r in runs)
                 for part in ("gender", "age", "marker")}
        total[mode] = {"label_changes": changes, "person_minutes": minutes,
                       "label_changes_per_min": changes / minutes if minutes else None, **answered,
                       "label_changes_by_part": parts}
    return total


def print_table(results: dict) -> None:
    print(f"{'faces':>5} {'mode':<22} {'FPS':>6} " + " ".join(f"{s + ' p50/p95':>16}" for s in STAGES[:-1])
          + f" {'changes/min':>11}")
    for seg in results["segments"]:
        for mode in ("tracked", "tracked_no_smoothing", "baseline_every_frame"):
            r = seg[mode]
            cells = " ".join(f"{r['median_ms'].get(s, float('nan')):7.1f}/{r['p95_ms'].get(s, float('nan')):<8.1f}"
                             for s in STAGES[:-1])
            print(f"{seg['faces']:>5} {mode:<22} {r['fps']:6.1f} {cells} {r['label_changes_per_min']:11.2f}")
    print(f"peak RSS {results['peak_rss_mb']:.0f} MB", end="")
    if "first_frame_s" in results:
        ff = results["first_frame_s"]
        print(f"; GUI first frame {'n/a' if ff is None else f'{ff:.2f} s'}; GUI peak RSS {results['gui_peak_rss_mb']:.0f} MB")
    else:
        print()
    if results.get("stability"):
        print(f"{'clip':<34} {'mode':<24} {'changes/min':>11} {'person-min':>10} {'ids':>4} {'cuts':>4} "
              f"{'gender answered':>15} {'age answered':>12} {'marker':>6}")
        for row in results["stability"]:
            for mode in STABILITY_MODES:
                r = row[mode]
                pct_cell = lambda v: "n/a" if v is None else f"{v:.0%}"  # noqa: E731
                per_min = "n/a" if r["label_changes_per_min"] is None else f"{r['label_changes_per_min']:.2f}"
                print(f"{row['clip'][:34]:<34} {mode:<24} {per_min:>11} {r['person_minutes']:10.2f} "
                      f"{r['track_ids']:4d} {r['cuts_detected']:4d} {pct_cell(r['gender_answered']):>15} "
                      f"{pct_cell(r['age_answered']):>12} {pct_cell(r['unjudgeable']):>6}")
    for mode, r in results.get("real_clips_total", {}).items():
        per_min = "n/a" if r["label_changes_per_min"] is None else f"{r['label_changes_per_min']:.2f}"
        answered = "".join(f", {key.split('_')[0]} answered {r[key]:.1%}" for key in ("gender_answered", "age_answered")
                           if r.get(key) is not None)
        parts = r.get("label_changes_by_part")
        if parts:
            answered += "; touching " + ", ".join(f"{part} {n}" for part, n in parts.items())
        print(f"{'all real clips':<34} {mode:<24} {per_min:>11} {r['person_minutes']:10.2f}  "
              f"({r['label_changes']} changes{answered})")


if __name__ == "__main__":
    sys.exit(run_tool(main))
