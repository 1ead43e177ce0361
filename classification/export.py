"""Export a trained `.keras` classifier to the compact TFLite file the app loads: `python -m classification.export`."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from core.cli import OneLineParser, check_writable_folder, number_in, run_tool
from core.paths import DEFAULT_CLASSIFIER_WEIGHTS, FACE_CACHE_DIR, RUNS_DIR
from runtime import import_tensorflow


QUANTIZATIONS = ("dynamic", "float16", "none")
DEFAULT_CALIBRATION_BATCHES = 60   # of 32 faces: for a model trained from scratch, whose statistics lag its weights


def to_tflite(model, out_path: str | Path, quantization: str = "dynamic") -> Path:
    """Convert a Keras model to TFLite.

    'dynamic' stores int8 weights (a quarter of float32) and computes in float; 'float16' halves the
    file; 'none' keeps float32. Measure accuracy and speed before shipping a choice (model card).
    """
    tf = import_tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}")
    if quantization != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".partial")   # renamed when whole: an interrupted write leaves none
    try:
        tmp.write_bytes(converter.convert())
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


def batchnorm_frozen(model) -> bool:
    """True when every BatchNorm layer is frozen, as in every `--init` run of `classification.train`."""
    from classification.model import batchnorm_layers
    layers = batchnorm_layers(model)
    return bool(layers) and not any(layer.trainable for layer in layers)


def recalibrate_batchnorm(model, batches) -> int:
    """Replace every BatchNorm layer's moving mean/variance by the exact average over `batches`.

    Why: training from scratch moves the weights fast and the moving averages (momentum 0.99) lag
    behind them, so inference-mode outputs collapse towards one class. A forward pass in training mode
    with momentum (k-1)/k at step k makes the stored statistics the plain mean of the batches' own
    statistics ("precise BN"). Only statistics change; no weight is trained. Returns the batch count.
    A frozen BatchNorm (every `--init` run's) is unfrozen for the passes and frozen again: Keras runs a
    non-trainable BatchNorm in inference mode whatever `training` says, so until session 28 recalibrating
    such a checkpoint silently kept its statistics (stage 39's average scored the same on every figure).
    """
    from classification.model import batchnorm_layers
    layers = batchnorm_layers(model)
    saved = [(layer.momentum, layer.trainable) for layer in layers]
    count = 0
    try:
        for layer in layers:
            layer.trainable = True
        for count, batch in enumerate(batches, start=1):
            for layer in layers:
                layer.momentum = (count - 1) / count
            model(batch, training=True)
    finally:
        for layer, (momentum, trainable) in zip(layers, saved):
            layer.momentum, layer.trainable = momentum, trainable
    return count


def load_averaged(checkpoints):
    """Load `.keras` checkpoints and return the first with every weight replaced by their plain mean.

    Why: averaging the last few epochs of one low-learning-rate run (stochastic weight averaging) lands
    nearer the middle of the basin than any single epoch and usually generalises a little better, at no
    inference cost. Only checkpoints of the same run or continuation make sense. For runs trained from
    scratch (BatchNorm statistics moving), recalibrate the statistics afterwards (export does by default).
    For runs fine-tuned with frozen BatchNorm (`--init`), pass `--calibration-batches 0`: measured in
    session 10 on the average of stages 7 and 8, recalibrating made it much worse (UTKFace within one
    group 90.6% at slider 1.2 against 96.3% kept; `weights/age_gender.md`).
    """
    import numpy as np

    from classification.model import load_checkpoint
    paths = [str(c) for c in checkpoints]
    model = load_checkpoint(paths[0])
    if len(paths) == 1:
        return model
    sums = [np.array(w, np.float64) for w in model.get_weights()]
    for path in paths[1:]:
        other = load_checkpoint(path).get_weights()
        if len(other) != len(sums) or any(o.shape != s.shape for o, s in zip(other, sums)):
            raise ValueError(f"{path} has a different architecture from {paths[0]}; average only checkpoints "
                             f"of the same model")
        for total, w in zip(sums, other):
            total += w
    model.set_weights([(total / len(paths)).astype(np.float32) for total in sums])
    return model


def calibration_batches(cache_dir: Path, input_size_px: int, n_batches: int = DEFAULT_CALIBRATION_BATCHES,
                        batch: int = 32, seed: int = 0):
    """Training-split faces cropped like the app does, at random slider scales (no other augmentation)."""
    import numpy as np

    from classification.cache import cache_scale, load_cache
    from core.config import CROP_SCALE_RANGE
    tf = import_tensorflow()
    images, labels = load_cache(cache_dir)
    scale = cache_scale(cache_dir)
    rng = np.random.default_rng(seed)
    train = np.flatnonzero(labels["keep"] & (labels["split"] == "train"))
    for _ in range(n_batches):
        idx = np.sort(rng.choice(train, batch, replace=False))
        half = rng.uniform(*CROP_SCALE_RANGE, size=batch) / scale / 2.0
        boxes = np.stack([0.5 - half, 0.5 - half, 0.5 + half, 0.5 + half], axis=1).astype(np.float32)
        yield tf.image.crop_and_resize(tf.cast(images[idx], tf.float32), boxes, tf.range(batch),
                                       (input_size_px, input_size_px), extrapolation_value=0.0)


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", nargs="*", default=[str(RUNS_DIR / "classifier" / "best.keras")],
                   help="a .keras checkpoint; several: ship the average of their weights (same run only)")
    p.add_argument("--out", default=str(DEFAULT_CLASSIFIER_WEIGHTS),
                   help="the .tflite written (default: the shipped file, so give --out runs/... for a candidate)")
    p.add_argument("--overwrite", action="store_true", help="replace a file already at --out or --save-keras")
    p.add_argument("--cache", default=str(FACE_CACHE_DIR),
                   help="decoded-face cache for BatchNorm recalibration (see classification.cache)")
    p.add_argument("--calibration-batches", type=number_in(0, 100000, int), default=None,
                   help="measure the BatchNorm statistics afresh on N batches (0: keep them). Default: 60 for a "
                        "model trained from scratch, 0 for an --init run's, whose BatchNorm is frozen and whose "
                        "weights are fitted to those statistics (session 28: -148 points when measured afresh)")
    p.add_argument("--save-keras", default=None, help="also save the recalibrated model as .keras")
    p.add_argument("--quantization", choices=QUANTIZATIONS, default="dynamic",
                   help="dynamic: int8 weights, 1/4 size (default); float16: 1/2; none: float32")
    args = p.parse_args(argv)
    for path, suffix, flag in ((args.out, ".tflite", "--out"), (args.save_keras, ".keras", "--save-keras")):
        if path and Path(path).suffix.lower() != suffix:
            p.error(f"{flag} {path}: give a name ending in {suffix} (that is what is written there)")
        if path:
            check_writable_folder(Path(path).parent)
    for checkpoint in args.checkpoint:
        if not Path(checkpoint).is_file():
            print(f"error: no checkpoint at {checkpoint}; train with `python -m classification.train`", file=sys.stderr)
            return 2
    present = [f for f in (args.out, args.save_keras) if f and Path(f).exists()]
    if present and not args.overwrite:
        print(f"error: {', '.join(present)} already there and kept; give --out runs/<run>/NAME.tflite "
              "(ship it only when classification.compare says better), or --overwrite", file=sys.stderr)
        return 2
    try:
        model = load_averaged(args.checkpoint)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if len(args.checkpoint) > 1:
        print(f"averaged the weights of {len(args.checkpoint)} checkpoints")
    if args.calibration_batches is None:
        args.calibration_batches = 0 if batchnorm_frozen(model) else DEFAULT_CALIBRATION_BATCHES
        if not args.calibration_batches:
            print("BatchNorm is frozen (an --init run): its statistics are kept; --calibration-batches N measures "
                  "them afresh")
    if args.calibration_batches:
        if not (Path(args.cache) / "labels.npz").is_file():
            print(f"error: no face cache at {args.cache} for BatchNorm recalibration; build it with "
                  f"`python -m classification.cache` or pass --calibration-batches 0", file=sys.stderr)
            return 2
        n = recalibrate_batchnorm(model, calibration_batches(Path(args.cache), int(model.inputs[0].shape[1]),
                                                             args.calibration_batches))
        print(f"BatchNorm statistics recalibrated on {n} batches")
    if args.save_keras:
        from classification.model import save_atomically
        save_atomically(model, args.save_keras)
    out = to_tflite(model, args.out, args.quantization)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
