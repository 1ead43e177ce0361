"""Export a trained detector: `python -m detection.export runs/detector/<name>/weights/best.pt --out-dir DIR --trust-checkpoints`.

Several checkpoints of the same architecture export the average of their weights (list one twice to
weigh it double). Averaging a fine-tune with the checkpoint it started from keeps part of what the
fine-tune learned and part of what it forgot (weights/face_detector.md, session 13).

Writes a stripped `.pt` (no optimizer state, half precision: about 6 MB, for fine-tuning) and a float32
ONNX file with dynamic height and width, so the app can run each frame at the smallest stride-multiple
rectangle around it (see `detection/onnx_yolo.py`). The app itself loads the static int8 copy that
`python -m detection.quantize` makes of that float file; evaluate the int8 copy at the app's setting before
shipping it (`python -m detection.evaluate`, weights/face_detector.md). Files already there (the shipped
ones in `weights/` among them) are kept unless `--overwrite` is given.

Every checkpoint is a pickle, and loading one runs the code stored in it, so nothing is read without
`--trust-checkpoints` (files you made yourself only). A checkpoint that fails to load or export leaves
nothing in `--out-dir`: the files are made in a scratch folder and moved there once both exist.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from core.cli import OneLineParser, check_writable_folder, positive, run_tool
from core.paths import WEIGHTS_DIR
from detection.detector import refuse_untrusted_checkpoint
from runtime import import_ultralytics

# the ONNX graph's input size when traced; the app feeds it AppConfig.detector_imgsz_px (its axes are dynamic)
TRACE_IMGSZ_PX = 320


def export_onnx(checkpoint: str | Path, imgsz_px: int) -> Path:
    """ONNX with dynamic input height/width, simplified, written next to `checkpoint`."""
    import_ultralytics()
    from ultralytics import YOLO
    return Path(YOLO(str(checkpoint)).export(format="onnx", imgsz=imgsz_px, simplify=True, dynamic=True))


def average_checkpoints(checkpoints: list[str | Path], out: str | Path) -> Path:
    """Write to `out` a checkpoint whose weights are the mean of `checkpoints`' (same architecture only).

    Each network is read as ultralytics reads it (the EMA copy of a training checkpoint, `model` of a
    stripped one, in float32); floating tensors (weights, biases, BatchNorm statistics) are averaged,
    integer buffers (BatchNorm's batch counters) are the first one's. `ship` halves the result.
    """
    import_ultralytics()
    import torch
    from ultralytics.nn.tasks import load_checkpoint
    loaded = [load_checkpoint(str(c)) for c in checkpoints]
    states = [model.state_dict() for model, _ in loaded]
    first = states[0]
    for path, state in zip(checkpoints[1:], states[1:]):
        if state.keys() != first.keys() or any(state[k].shape != first[k].shape for k in first):
            raise ValueError(f"{path} has a different architecture from {checkpoints[0]}; average only "
                             "checkpoints of one network")
    averaged = {k: torch.stack([s[k] for s in states]).mean(0) if v.is_floating_point() else v
                for k, v in first.items()}
    model, ckpt = loaded[0]
    model.load_state_dict(averaged)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**ckpt, "model": model, "ema": None, "optimizer": None,
                "averaged_from": [str(c) for c in checkpoints]}, out)
    return out


def ship(checkpoint: str | Path, out_dir: str | Path, name: str = "face_detector", imgsz_px: int = TRACE_IMGSZ_PX):
    """Copy `checkpoint` to out_dir/<name>.pt, strip it, and export out_dir/<name>.onnx next to it."""
    import_ultralytics()
    from ultralytics.utils.torch_utils import strip_optimizer
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pt = out_dir / f"{name}.pt"
    shutil.copyfile(checkpoint, pt)
    strip_optimizer(str(pt))
    return pt, export_onnx(pt, imgsz_px)


def ship_whole(checkpoint: str | Path, out_dir: Path, name: str, imgsz_px: int, staging: Path):
    """`ship` into `staging` first, then move both files into `out_dir`: a checkpoint that fails to load or
    export leaves nothing behind in `out_dir` (a half-written copy there used to block the next run as
    "already there and kept"), and files replaced under --overwrite are replaced only by a finished export."""
    pt, onnx = ship(checkpoint, staging, name, imgsz_px)
    out_dir.mkdir(parents=True, exist_ok=True)
    return tuple(Path(shutil.move(str(f), str(out_dir / f.name))) for f in (pt, onnx))


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", nargs="+",
                   help="a training checkpoint, e.g. runs/detector/face_ft/weights/best.pt; several: export "
                        "the average of their weights")
    p.add_argument("--out-dir", default=str(WEIGHTS_DIR))
    p.add_argument("--name", default="face_detector", help="file stem of the .pt and .onnx written")
    p.add_argument("--imgsz", type=positive(int), default=TRACE_IMGSZ_PX, help="the size the ONNX graph is traced at")
    p.add_argument("--overwrite", action="store_true", help="replace .pt/.onnx files of that name already there")
    p.add_argument("--trust-checkpoints", action="store_true",
                   help="load the checkpoints: a .pt is a pickle, and loading it runs code stored in it, so "
                        "pass this only for files you made yourself")
    args = p.parse_args(argv)
    missing = [c for c in args.checkpoint if not Path(c).is_file()]
    if missing:
        print(f"error: no checkpoint at {', '.join(missing)}", file=sys.stderr)
        return 2
    present = [str(f) for f in (Path(args.out_dir) / f"{args.name}.pt", Path(args.out_dir) / f"{args.name}.onnx")
               if f.exists()]
    if present and not args.overwrite:
        print(f"error: {', '.join(present)} already there and kept; give --out-dir runs/detector/<name> "
              "(then python -m detection.quantize for the app's int8 file), or --overwrite", file=sys.stderr)
        return 2
    for checkpoint in args.checkpoint:
        refuse_untrusted_checkpoint(checkpoint, args.trust_checkpoints)
    check_writable_folder(args.out_dir)   # a file or an unwritable folder there is not the checkpoint's fault
    with tempfile.TemporaryDirectory() as tmp:  # the average and the staged export live only until moved
        checkpoint = args.checkpoint[0]
        if len(args.checkpoint) > 1:
            checkpoint = Path(tmp) / "averaged.pt"
            try:
                average_checkpoints(args.checkpoint, checkpoint)
            except ValueError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            except Exception as e:  # noqa: BLE001 - any load failure means a file that is no detector checkpoint
                return _unusable(args.checkpoint, str(e))
            print(f"averaged the weights of {len(args.checkpoint)} checkpoints")
        staging = Path(tmp) / "out"
        try:
            pt, onnx = ship_whole(checkpoint, Path(args.out_dir), args.name, args.imgsz, staging)
        except Exception as e:  # noqa: BLE001 - as above; nothing was written to --out-dir
            return _unusable(args.checkpoint, str(e).replace(str(staging / f"{args.name}.pt"), str(checkpoint)))
    print(f"wrote {pt} ({pt.stat().st_size / 1e6:.1f} MB) and {onnx} ({onnx.stat().st_size / 1e6:.1f} MB)")
    return 0


def _unusable(checkpoints: list[str], message: str) -> int:
    """One line for a checkpoint that could not be loaded or exported (empty, truncated, not a detector)."""
    reason = (message.strip().splitlines() or ["unreadable"])[0]
    print(f"error: could not export {', '.join(checkpoints)} ({reason}); pass a detector checkpoint from "
          f"python -m detection.train (runs/detector/<name>/weights/last.pt); nothing was written", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(run_tool(main))
