"""Export a trained detector: `python -m detection.export runs/detector/<name>/weights/best.pt --out-dir DIR`.

Several checkpoints of the same architecture export the average of their weights (list one twice to
weigh it double). Averaging a fine-tune with the checkpoint it started from keeps part of what the
fine-tune learned and part of what it forgot (weights/face_detector.md, session 13).

Writes a stripped `.pt` (no optimizer state, half precision: about 6 MB, for fine-tuning) and a float32
ONNX file with dynamic height and width, so the app can run each frame at the smallest stride-multiple
rectangle around it (see `detection/onnx_yolo.py`). The app itself loads the static int8 copy that
`python -m detection.quantize` makes of that float file; evaluate the int8 copy at the app's setting before
shipping it (`python -m detection.evaluate`, weights/face_detector.md). Files already there (the shipped
ones in `weights/` among them) are kept unless `--overwrite` is given.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from core.paths import REPO_ROOT
from runtime import import_ultralytics


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


def ship(checkpoint: str | Path, out_dir: str | Path, name: str = "face_detector", imgsz_px: int = 320):
    """Copy `checkpoint` to out_dir/<name>.pt, strip it, and export out_dir/<name>.onnx next to it."""
    import_ultralytics()
    from ultralytics.utils.torch_utils import strip_optimizer
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pt = out_dir / f"{name}.pt"
    shutil.copyfile(checkpoint, pt)
    strip_optimizer(str(pt))
    return pt, export_onnx(pt, imgsz_px)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", nargs="+",
                   help="a training checkpoint, e.g. runs/detector/face_ft/weights/best.pt; several: export "
                        "the average of their weights")
    p.add_argument("--out-dir", default=str(REPO_ROOT / "weights"))
    p.add_argument("--name", default="face_detector", help="file stem of the .pt and .onnx written")
    p.add_argument("--imgsz", type=int, default=320, help="the size the ONNX graph is traced at")
    p.add_argument("--overwrite", action="store_true", help="replace .pt/.onnx files of that name already there")
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
    with tempfile.TemporaryDirectory() as tmp:  # the average lives only until ship() has copied it
        checkpoint = args.checkpoint[0]
        if len(args.checkpoint) > 1:
            checkpoint = Path(tmp) / "averaged.pt"
            try:
                average_checkpoints(args.checkpoint, checkpoint)
            except ValueError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            print(f"averaged the weights of {len(args.checkpoint)} checkpoints")
        pt, onnx = ship(checkpoint, args.out_dir, args.name, args.imgsz)
    print(f"wrote {pt} ({pt.stat().st_size / 1e6:.1f} MB) and {onnx} ({onnx.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
