"""Train the one-class YOLO face detector: `python -m detection.train --help`.

From scratch by default (`yolov8n.yaml`): no pretrained weights can be downloaded on the machines this
project is built on. `--weights yolov8n.pt` (a user with internet) or one of our own checkpoints starts
from trained weights instead. Rerunning with `--resume` continues the newest `last.pt` of the run.
Checkpoints go to `runs/detector/<name>/weights/` (git-ignored); the end of training exports ONNX.

A `--weights` checkpoint is a pickle, and loading it runs the code stored in it: it is read only with
`--trust-checkpoints` (files you made yourself, or fetched from a source you trust). `--resume` reads only
the `last.pt` this command itself wrote under runs/.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from core.cli import OneLineParser, number_in, positive, run_tool
from core.errors import SourceError
from core.paths import DATASETS_DIR, DETECTOR_COMPOSITES_DIR, RUNS_DIR
from runtime import import_ultralytics

DEFAULT_DATA = DETECTOR_COMPOSITES_DIR / "data.yaml"
TRAIN_IMGSZ_PX = 320   # the first stages' size on 2 cores; later stages passed --imgsz 480 / 640 (weights/face_detector.md)
WIDER_ONLY_DATA = DATASETS_DIR / "wider_face_subset" / "data.yaml"


def parse_args(argv=None):
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None,
                   help=f"YOLO data.yaml (default: composites {DEFAULT_DATA}, built if missing; "
                        f"or the plain WIDER subset {WIDER_ONLY_DATA})")
    p.add_argument("--model", default="yolov8n.yaml", help="architecture yaml (n/s/m sizes) for training from scratch; "
                                                        "with --weights the checkpoint's own architecture is used")
    p.add_argument("--weights", default=None,
                   help="starting checkpoint (.pt; needs --trust-checkpoints); default: from scratch")
    p.add_argument("--trust-checkpoints", action="store_true",
                   help="load --weights: a .pt is a pickle, and loading it runs code stored in it, so pass this "
                        "only for files you made yourself")
    p.add_argument("--imgsz", type=positive(int), default=TRAIN_IMGSZ_PX)
    p.add_argument("--epochs", type=positive(int), default=60)
    p.add_argument("--hours", type=positive(), default=None,
                   help="train for this many hours instead of --epochs (ultralytics re-plans the epochs and "
                        "learning-rate schedule after the first one); for a GPU lease of fixed length")
    p.add_argument("--batch", type=positive(int), default=16)
    p.add_argument("--workers", type=number_in(0, 1024, int), default=2)
    p.add_argument("--device", default="cpu", help="'cpu' or a CUDA index such as 0")
    p.add_argument("--name", default="face", help="run name under runs/detector/")
    p.add_argument("--warmup-epochs", type=number_in(0, 10_000), default=3.0,
                   help="LR warm-up; 1 or less suits fine-tuning one of our own checkpoints")
    p.add_argument("--close-mosaic", type=number_in(0, 1_000_000, int), default=5,
                   help="last N epochs train without mosaic")
    p.add_argument("--lr0", type=positive(), default=None,
                   help="starting learning rate with AdamW; default: ultralytics' 'auto' choice (AdamW at 0.002 "
                        "for runs this size), too high for a short fine-tune that should keep what it knew")
    p.add_argument("--degrees", type=number_in(0, 180), default=0.0,
                   help="random rotation of training images, +/- degrees (0: none, as every stage so far); "
                        "tilted heads score low without it (weights/face_detector.md)")
    p.add_argument("--freeze", type=number_in(0, 1000, int), default=0,
                   help="keep the first N layers as they are (10: the whole yolov8n backbone, so only the neck and "
                        "head learn); 0 trains every layer, as every stage so far")
    p.add_argument("--resume", action="store_true", help="continue runs/detector/<name>/weights/last.pt")
    p.add_argument("--no-export", action="store_true", help="skip the ONNX export at the end")
    p.add_argument("--no-plots", action="store_true",
                   help="skip label and result plots (they need polars, which a bare GPU machine may lack)")
    return p.parse_args(argv)


def ensure_data(data: str | None) -> Path:
    """--data, or the composites (built on first use); SourceError for a data.yaml that names no train and
    val images, before the model is built (ultralytics used to fail with a RuntimeError after that)."""
    from detection.yolo_files import read_data_yaml
    if data:
        path = Path(data).resolve()
        read_data_yaml(path, ("train", "val"))
        return path
    if not DEFAULT_DATA.is_file():
        from detection.composites import build
        print("building composite training data (first run only)...", flush=True)
        build(DATASETS_DIR, DEFAULT_DATA.parent)
    return DEFAULT_DATA


def check_weights(weights: str, trust_checkpoint: bool) -> None:
    """Before anything is read: a --weights path that is not there, and any checkpoint not vouched for.
    A bare name that is missing (`yolov8n.pt`) is left to ultralytics, which downloads its own releases."""
    from detection.detector import refuse_untrusted_checkpoint
    path = Path(weights)
    if not path.is_file() and (path.parent != Path(".") or path.exists()):
        raise SourceError(f"no checkpoint at {weights}: pass --weights with a .pt file "
                          f"(e.g. runs/detector/<name>/weights/last.pt), or leave it out to train from scratch")
    refuse_untrusted_checkpoint(weights, trust_checkpoint)


FINISHED_MARKER = "finished.json"   # written when model.train returns: ultralytics cannot --resume such a run


def run_args(run_dir: Path) -> dict:
    """The arguments ultralytics recorded for a run (its args.yaml); {} when missing or unreadable."""
    import yaml
    try:
        recorded = yaml.safe_load((run_dir / "args.yaml").read_text())
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def run_finished(run_dir: Path) -> bool:
    """The run ended its training: its FINISHED_MARKER, or (runs from before the marker) every epoch its
    args.yaml plans is in its results.csv. A --hours run re-plans its epochs and never writes the new count
    to args.yaml, so without the marker it counts as unfinished."""
    if (run_dir / FINISHED_MARKER).is_file():
        return True
    planned = run_args(run_dir)
    try:
        rows = (run_dir / "results.csv").read_text().splitlines()[1:]
        epochs = int(planned["epochs"])
    except (OSError, KeyError, TypeError, ValueError):
        return False
    if planned.get("time"):
        return False
    return len({row.split(",", 1)[0].strip() for row in rows if row.strip()}) >= epochs


def check_run_name(last: Path, resume: bool) -> None:
    """FileExistsError for a new run whose folder already holds weights (ultralytics would train over them),
    and for --resume of a finished run (ultralytics would start an unrelated one on its default data)."""
    run_dir = last.parent.parent
    new_run = (f"start a new run from it: --weights {last} --trust-checkpoints --name {run_dir.name}_next "
               f"(with --warmup-epochs 0.5 for a fine-tune)")
    if last.is_file() and run_finished(run_dir):
        raise FileExistsError(f"{run_dir} finished every epoch it planned and was kept: {new_run}")
    if not resume and last.is_file():
        raise FileExistsError(f"{run_dir} already holds {last.name} and was kept: continue it with --resume, "
                              f"or give a new --name")


def run_imgsz(run_dir: Path, default: int) -> int:
    """The input size a run trained at (its args.yaml), for exporting a resumed run at its own size."""
    try:
        return int(run_args(run_dir)["imgsz"])
    except (KeyError, TypeError, ValueError):
        return default


def check_device(device: str) -> None:
    """SourceError for CUDA indices this machine does not have (ultralytics raised a ValueError traceback);
    other device names (cpu, mps, cuda:0, -1) are ultralytics' to judge."""
    wanted = [d.strip() for d in device.split(",")]
    if not all(d.isdigit() for d in wanted):
        return
    from runtime import import_torch
    count = import_torch().cuda.device_count()
    if not all(int(d) < count for d in wanted):
        raise SourceError(f"--device {device}: this machine has {count} CUDA device(s)"
                          f"{f' (0-{count - 1})' if count else ''}; pass --device cpu or one of them")


def main(argv=None) -> int:
    args = parse_args(argv)
    project = RUNS_DIR / "detector"
    last = project / args.name / "weights" / "last.pt"
    check_run_name(last, args.resume)
    if not args.resume:   # a resumed run keeps its own device
        check_device(args.device)   # before the data is built (minutes)
    if args.weights and not args.resume:
        check_weights(args.weights, args.trust_checkpoints)
    data = None if args.resume else ensure_data(args.data)  # checked before ultralytics loads and builds the model
    os.environ["YOLO_VERBOSE"] = "True"  # training should show its progress
    import_ultralytics()
    from ultralytics import YOLO

    if args.resume:
        if not last.is_file():
            print(f"error: nothing to resume at {last}; run without --resume first", file=sys.stderr)
            return 2
        try:
            model = YOLO(str(last))
        except Exception as exc:  # noqa: BLE001 - any failure means a damaged checkpoint
            from core.errors import WeightsError
            raise WeightsError(f"{last} could not be loaded ({type(exc).__name__}: {exc}): it is damaged; "
                               f"start a new run (--name) from an earlier checkpoint") from None
        model.train(resume=True)
    else:
        # A checkpoint carries its own architecture and class count. Building --model (80 classes) and then
        # loading a one-class checkpoint into it re-initialised the class-score layer of every fine-tune.
        try:
            model = YOLO(args.weights) if args.weights else YOLO(args.model)
        except ConnectionError as exc:   # a bare release name (yolov8n.pt) is downloaded; offline it cannot be
            raise SourceError(f"{args.weights or args.model} is not here and could not be downloaded ({exc}): pass "
                              f"--weights with a local .pt, or leave --weights out to train from scratch") from None
        except Exception as exc:  # noqa: BLE001 - any other failure means the file is not a checkpoint
            from core.errors import WeightsError
            raise WeightsError(f"{args.weights or args.model} could not be loaded as a YOLO checkpoint "
                               f"({type(exc).__name__}: {exc}): pass a .pt from python -m detection.train") from None
        # 'auto' also zeroes the bias warm-up rate; a named optimiser would warm biases down from 0.1, fifty
        # times the rate a gentle fine-tune wants, so keep that zero as well.
        optimiser = {"optimizer": "AdamW", "lr0": args.lr0, "warmup_bias_lr": 0.0} if args.lr0 else {}
        model.train(**optimiser, data=str(data), imgsz=args.imgsz, epochs=args.epochs, batch=args.batch,
                    workers=args.workers, device=args.device, project=str(project), name=args.name,
                    exist_ok=True, pretrained=bool(args.weights), amp=args.device != "cpu", plots=not args.no_plots,
                    time=args.hours,
                    patience=0, close_mosaic=args.close_mosaic, warmup_epochs=args.warmup_epochs, degrees=args.degrees,
                    freeze=args.freeze or None, seed=0, deterministic=False)
    if (project / args.name).is_dir():   # training returned: ended, not interrupted
        (project / args.name / FINISHED_MARKER).write_text(json.dumps({"finished": True}))
    best = project / args.name / "weights" / "best.pt"
    if not args.no_export and best.is_file():
        from detection.export import export_onnx
        onnx_path = export_onnx(best, run_imgsz(project / args.name, args.imgsz))   # a resumed run: its own size
        print(f"exported {onnx_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
