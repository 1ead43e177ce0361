"""Train the InceptionV3 age-group + gender classifier: `python -m classification.train --help`.

Resumable: the run folder keeps a Keras BackupAndRestore state (model, optimizer, epoch), `last.keras`,
`best.keras` (by validation age accuracy, over every epoch logged), `history.csv` and `curves.png`;
rerunning the same command continues where the last session stopped. A finished run is never trained
again from scratch over its checkpoints: a rerun is refused and names the command that continues from it.
Checkpoints are written to a temporary file and renamed, so a kill mid-save keeps the previous one. With
`--average-from-epoch E` it also keeps `average.keras`,
the running mean of the weights at the end of every epoch from E on (stochastic weight averaging: the
mean of nearby points on a low-LR path generalizes better than any one of them, for no inference cost).

`--init` takes a `.keras` checkpoint or a shipped `.tflite` file (rebuilt by `classification.from_tflite`);
a model rebuilt from TFLite trains with its BatchNorm layers frozen, because its folded statistics are
exact only in inference mode.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from classification.augment import AUGMENT, MAX_TRAIN_SCALE_BY_SOURCE, AugmentRanges
from classification.cache import center_crops
from classification.model import PRECISIONS, save_atomically
from core.cli import OneLineParser, number_in, positive, run_tool
from core.config import CROP_SCALE_RANGE
from core.labels import NUM_AGE_GROUPS
from core.paths import DATASETS_DIR, EXTRA_DATA_DIR, FACE_CACHE_DIR, RUNS_DIR
from runtime import import_tensorflow

VALIDATION_FACES = 1500        # a fixed subsample of the validation split, to keep epochs cheap


def parse_args(argv=None):
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default=str(DATASETS_DIR), help="folder with utkface/ and fairface/")
    p.add_argument("--extra", default=str(EXTRA_DATA_DIR), help="fetched data (../shared/datasets/MORE_DATA.md)")
    p.add_argument("--cache", default=str(FACE_CACHE_DIR), help="decoded-face cache folder")
    p.add_argument("--run-dir", default=str(RUNS_DIR / "classifier"), help="checkpoints and logs")
    p.add_argument("--input-size", type=number_in(75, 1024, int), default=112, help="classifier input side in px (>= 75)")
    p.add_argument("--epochs", type=number_in(2, 100000, int), default=80,
                   help="planned epochs, at least 2 (the first warms the LR up); the LR schedule spans them")
    p.add_argument("--steps-per-epoch", type=positive(int), default=125)
    p.add_argument("--batch", type=positive(int), default=32)
    p.add_argument("--lr", type=positive(), default=5e-4, help="peak learning rate (2e-3 did not learn from scratch)")
    p.add_argument("--gender-loss-weight", type=number_in(0, 100), default=1.0,
                   help="gender loss weight against age's 1.0 (0.5 until epoch 34: age met its targets first)")
    p.add_argument("--imagenet", action="store_true", help="start the trunk from ImageNet weights (download)")
    p.add_argument("--init", default=None, help="a .keras checkpoint or a shipped .tflite to start from (fine-tuning)")
    p.add_argument("--threads", type=number_in(0, 1024, int), default=0, help="TensorFlow intra-op threads (0 = all cores)")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="what the network computes in while training; bfloat16 needs a CPU with native bfloat16 "
                        "(AVX512-BF16 or AMX; elsewhere it is slower) and saves float32 weights all the same")
    p.add_argument("--stop-after-epochs", type=number_in(0, 100000, int), default=0, help="end this invocation after N epochs")
    p.add_argument("--source-weight", action="append", default=[], metavar="SOURCE=W",
                   help="draw a source's faces W times as often as the others' (e.g. fairface=2; "
                        "default: every training face once a pass)")
    p.add_argument("--average-from-epoch", type=number_in(0, 100000, int), default=0,
                   help="keep average.keras, the mean of the weights after each epoch from this one on (0: off; "
                        "exact for --init runs, whose BatchNorms are frozen; else export recalibrates them)")
    args = p.parse_args(argv)
    if args.init and not Path(args.init).is_file():
        p.error(f"--init {args.init}: no such file (a .keras checkpoint or a shipped .tflite)")
    return args


def logged(history: Path, column: str) -> list[float]:
    """One column of a run's history.csv (CSVLogger's), over its rows; [] without the file."""
    import csv
    if not history.is_file():
        return []
    with history.open(newline="") as f:
        return [float(row[column]) for row in csv.DictReader(f) if row.get(column) not in (None, "")]


def epochs_logged(run_dir: Path) -> int:
    """Epochs `run_dir/history.csv` records (its highest epoch + 1; a resumed epoch is logged twice)."""
    return int(max(logged(run_dir / "history.csv", "epoch"), default=-1)) + 1


def best_logged(history: Path, monitor: str) -> float:
    """The highest `monitor` value history.csv holds (-inf without one)."""
    return max(logged(history, monitor), default=float("-inf"))


def check_run_dir(run_dir: Path, epochs: int, init: str | None) -> None:
    """FileExistsError, before any work, when this command would train `run_dir` again from scratch over
    its checkpoints (every planned epoch done, or epochs logged with no backup/ left to resume from), or
    when its rebuilt `init.keras` came from another file than `--init`."""
    done = epochs_logged(run_dir)
    next_run = f"--init {run_dir / 'last.keras'} --run-dir {run_dir}_next"
    backup = (run_dir / "backup").is_dir()
    if done >= epochs:
        raise FileExistsError(f"{run_dir} already has {done} epochs logged (--epochs {epochs}) and was kept: to "
                              f"train further, start a new run from it ({next_run})")
    if (done or (run_dir / "last.keras").is_file()) and not backup:
        raise FileExistsError(f"{run_dir} holds trained checkpoints but no backup/ to resume from, and was "
                              f"kept: start a new run from it ({next_run})")
    rebuilt, recorded = run_dir / "init.keras", run_dir / "init.json"
    if init and init.endswith(".tflite") and rebuilt.is_file():
        source = json.loads(recorded.read_text()).get("init") if recorded.is_file() else None
        if source != str(Path(init).resolve()):
            raise FileExistsError(f"{rebuilt} was rebuilt from {source or 'an unrecorded file'}, not from --init "
                                  f"{init}: give a new --run-dir for a run from {init}")


def parse_source_weights(pairs: list[str], sources) -> dict[str, float]:
    """`["fairface=2"]` -> `{"fairface": 2.0}`; ValueError naming the sources it knows for anything else."""
    weights = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if name not in sources or not weight > 0:
            raise ValueError(f"--source-weight {pair}: give SOURCE=W with SOURCE one of {', '.join(sources)} "
                             f"and W > 0")
        weights[name] = weight
    return weights


def sampling_order(rng: np.random.Generator, train_sources: np.ndarray, weight_by_source: dict[str, float]) -> np.ndarray:
    """Positions into the training set for one pass over it.

    Without weights, a permutation: every face once. With them, as many draws with replacement, a face of
    a source with weight W drawn W times as often as a face of weight 1, so a source whose figures lag
    (FairFace gender, stages 20-22) gets more of the steps without dropping the others."""
    if not weight_by_source:
        return rng.permutation(len(train_sources))
    p = np.array([weight_by_source.get(str(s), 1.0) for s in train_sources], np.float64)
    return rng.choice(len(train_sources), size=len(train_sources), replace=True, p=p / p.sum())


def class_weights(age_soft: np.ndarray) -> np.ndarray:
    """Per-group weights ~ 1/sqrt(frequency), mean 1 over the training set, so rare groups count more."""
    freq = age_soft.sum(axis=0) / age_soft.sum()
    w = 1.0 / np.sqrt(np.maximum(freq, 1e-4))
    return (w / (age_soft @ w).mean()).astype(np.float32)


def make_augment(tf, input_size_px: int, cache_scale: float, ranges: AugmentRanges = AUGMENT):
    """Batched augmentation that reproduces what the app feeds: square padded crops at slider scales,
    drawn from `ranges` (`classification.augment`, which `classification.train_gpu` reads too)."""

    def uniform(n, low_high):
        return tf.random.uniform([n, 1, 1, 1], *low_high)

    def chosen(n, rate):
        return tf.random.uniform([n, 1, 1, 1]) < rate

    def augment(inputs, targets, weights):
        images, max_scale = inputs
        n = tf.shape(images)[0]
        x = tf.cast(images, tf.float32)
        # lighting first, on the whole cached square, so the padding added by the crop stays black as in the app
        x = x * uniform(n, ranges.gain) + uniform(n, ranges.shift_levels)
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        x = (x - mean) * uniform(n, ranges.contrast) + mean
        grey = tf.repeat(tf.reduce_mean(x, axis=3, keepdims=True), 3, axis=3)
        x = grey + (x - grey) * uniform(n, ranges.saturation)
        x = tf.where(chosen(n, ranges.grey_rate), grey, x)
        x = tf.clip_by_value(x, 0.0, 255.0)
        # the square crop at a random slider scale, padded with black beyond the cached square
        lo = CROP_SCALE_RANGE[0]
        scale = lo + tf.random.uniform([n]) * (max_scale - lo)
        half = scale / cache_scale / 2.0
        jitter = ranges.centre_jitter_of_half_side
        shift = tf.random.uniform([n, 2], -jitter, jitter) * half[:, None]
        cy, cx = 0.5 + shift[:, 0], 0.5 + shift[:, 1]
        boxes = tf.stack([cy - half, cx - half, cy + half, cx + half], axis=1)
        x = tf.image.crop_and_resize(x, boxes, tf.range(n), (input_size_px, input_size_px), extrapolation_value=0.0)
        x = tf.where(chosen(n, ranges.flip_rate), tf.reverse(x, axis=[2]), x)
        # low resolution / blur: a webcam face 30-60 px wide upsampled to the input size
        small = tf.random.uniform([], ranges.low_res_min_px, input_size_px, dtype=tf.int32)
        blurred = tf.image.resize(tf.image.resize(x, (small, small), antialias=True), (input_size_px,) * 2)
        x = tf.where(chosen(n, ranges.low_res_rate), blurred, x)
        return x, targets, weights

    return augment


def main(argv=None) -> int:
    args = parse_args(argv)
    tf = import_tensorflow()
    keras = tf.keras
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    from classification.cache import SOURCES, build_cache, load_cache
    from classification.cache import cache_scale as read_cache_scale
    from facedata.datasets import read_training_sources
    from classification.model import build_model

    try:
        weight_by_source = parse_source_weights(args.source_weight, SOURCES)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run_dir = Path(args.run_dir)
    check_run_dir(run_dir, args.epochs, args.init)   # before the face cache is read (minutes, GBs)
    run_dir.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache)
    if not (cache / "labels.npz").is_file():
        if not Path(args.datasets).is_dir():
            print(f"error: no dataset folder at {args.datasets}; pass --datasets", file=sys.stderr)
            return 2
        build_cache(read_training_sources(args.datasets, args.extra), cache)
    images_mm, labels = load_cache(cache)
    cache_scale = read_cache_scale(cache)
    train_idx = np.flatnonzero(labels["keep"] & (labels["split"] == "train"))
    val_idx = np.flatnonzero(labels["keep"] & (labels["split"] == "val"))
    val_idx = np.sort(np.random.default_rng(0).permutation(val_idx)[:VALIDATION_FACES])
    max_scale = np.array([MAX_TRAIN_SCALE_BY_SOURCE.get(SOURCES[k], CROP_SCALE_RANGE[1])
                          for k in labels["source"]], np.float32)
    train_sources = np.array([SOURCES[k] for k in labels["source"][train_idx]])
    print(f"train faces {len(train_idx)}, validation faces {len(val_idx)}", flush=True)
    if len(train_idx) < args.batch:
        print(f"error: --batch {args.batch} is more than the {len(train_idx)} training faces in {cache}; "
              f"give a smaller --batch", file=sys.stderr)
        return 2
    if weight_by_source:
        print(f"sources drawn with weights {weight_by_source}", flush=True)
    images = np.ascontiguousarray(images_mm[np.concatenate([train_idx, val_idx])])
    train_images, val_images = images[: len(train_idx)], images[len(train_idx):]
    age_soft, gender = labels["age_soft"], labels["gender"].astype(np.int32)
    weights_per_group = class_weights(age_soft[train_idx])
    print("age-group weights", np.round(weights_per_group, 2), flush=True)

    def batches():
        rng = np.random.default_rng()
        while True:
            for chunk in np.array_split(sampling_order(rng, train_sources, weight_by_source),
                                        len(train_idx) // args.batch):
                idx = train_idx[chunk]
                sample_w_age = age_soft[idx] @ weights_per_group
                yield ((train_images[chunk], max_scale[idx]),
                       {"age": age_soft[idx], "gender": np.eye(2, dtype=np.float32)[np.maximum(gender[idx], 0)]},
                       {"age": sample_w_age.astype(np.float32), "gender": (gender[idx] >= 0).astype(np.float32)})

    spec = ((tf.TensorSpec([None, *train_images.shape[1:]], tf.uint8), tf.TensorSpec([None], tf.float32)),
            {"age": tf.TensorSpec([None, NUM_AGE_GROUPS], tf.float32), "gender": tf.TensorSpec([None, 2], tf.float32)},
            {"age": tf.TensorSpec([None], tf.float32), "gender": tf.TensorSpec([None], tf.float32)})
    train_ds = (tf.data.Dataset.from_generator(batches, output_signature=spec)
                .map(make_augment(tf, args.input_size, cache_scale), num_parallel_calls=1)
                .prefetch(2))
    val_x = center_crops(tf, val_images, args.input_size, cache_scale)
    val_y = {"age": age_soft[val_idx], "gender": np.eye(2, dtype=np.float32)[np.maximum(gender[val_idx], 0)]}
    val_w = {"age": np.ones(len(val_idx), np.float32), "gender": (gender[val_idx] >= 0).astype(np.float32)}

    model = initial_model(args, tf, run_dir, train_images, cache_scale) if args.init \
        else build_model(args.input_size, args.imagenet, precision=args.precision)
    total_steps = args.epochs * args.steps_per_epoch
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=total_steps - args.steps_per_epoch, alpha=0.01,
        warmup_target=args.lr, warmup_steps=args.steps_per_epoch)
    compile_for_training(keras, model, schedule, args.gender_loss_weight)
    print(f"computing in {args.precision} (validation and best.keras too); checkpoints hold float32 weights",
          flush=True)
    from classification.plots import CurvesPlot
    callbacks = [
        Checkpoints(keras, run_dir, "val_age_acc"),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        CurvesPlot(run_dir / "history.csv", run_dir / "curves.png"),
    ]
    if args.average_from_epoch:
        callbacks.append(WeightAverage(keras, run_dir / "average.keras", args.average_from_epoch))
    if args.stop_after_epochs:
        callbacks.append(StopAfter(keras, args.stop_after_epochs))
    # last, so an epoch counts as done only once its checkpoints, history row and average are written (a kill
    # in between repeats the epoch); kept when an invocation ends early (StopAfter), deleted below once every
    # epoch is done, and doubled, so a kill while it is written leaves the other copy to resume from
    callbacks.append(keras.callbacks.BackupAndRestore(str(run_dir / "backup"), delete_checkpoint=False,
                                                      double_checkpoint=True))
    model.fit(train_ds, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
              validation_data=(val_x, val_y, val_w), callbacks=callbacks, verbose=2)
    done = epochs_logged(run_dir)
    if done >= args.epochs:
        shutil.rmtree(run_dir / "backup", ignore_errors=True)   # ~0.5 GB; a finished run is never resumed
        print(f"done: {done} epochs; checkpoints in {run_dir}", flush=True)
    else:
        print(f"stopped after epoch {done} of {args.epochs}; rerun the same command to continue", flush=True)
    return 0


def compile_for_training(keras, model, learning_rate, gender_loss_weight: float = 1.0) -> None:
    """The optimizer, losses and metrics every training run uses (`bench.train_step` times the same step)."""
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate, weight_decay=1e-4, clipnorm=2.0),
        loss={"age": keras.losses.CategoricalCrossentropy(), "gender": keras.losses.CategoricalCrossentropy()},
        loss_weights={"age": 1.0, "gender": gender_loss_weight},
        metrics={"age": [keras.metrics.CategoricalAccuracy(name="acc")],
                 "gender": [keras.metrics.CategoricalAccuracy(name="acc")]},
    )


def initial_model(args, tf, run_dir: Path, train_images: np.ndarray, cache_scale: float):
    """The `--init` model, computing in `--precision`: a .keras checkpoint as saved (what it froze stays
    frozen), or a .tflite rebuilt once into `run_dir/init.keras`, its BatchNorms frozen."""
    from classification.model import freeze_batchnorm, load_checkpoint, with_precision
    if not args.init.endswith(".tflite"):
        return with_precision(load_checkpoint(args.init), args.precision)
    rebuilt = run_dir / "init.keras"
    if rebuilt.is_file():   # check_run_dir made sure it was rebuilt from this --init
        from core.errors import WeightsError
        try:
            model = load_checkpoint(rebuilt)
        except WeightsError as exc:   # a damaged file: rebuilt on request
            raise WeightsError(f"{exc} Delete it, and the rerun rebuilds it from --init {args.init}.") from None
    else:
        from classification.from_tflite import keras_from_tflite
        sample = np.random.default_rng(0).permutation(len(train_images))[:512]
        calibration = center_crops(tf, train_images[np.sort(sample)], args.input_size, cache_scale).numpy()
        model = keras_from_tflite(args.init, calibration)
        (run_dir / "init.json").write_text(json.dumps({"init": str(Path(args.init).resolve())}))  # before the model
        save_atomically(model, rebuilt)
        print(f"rebuilt {args.init} as {rebuilt}", flush=True)
    model = with_precision(model, args.precision)
    freeze_batchnorm(model)
    return model


def WeightAverage(keras, path: Path, from_epoch: int):
    class _WeightAverage(keras.callbacks.Callback):
        """Keeps at `path` the mean of the model's weights after every epoch from `from_epoch` (1-based) on.

        Resumable: the mean and the epochs in it live in the file and in `path.json`; an epoch already in
        the mean (a resumed run repeating it) is not counted twice. Written to a temporary file first, so
        an interrupted write leaves the previous mean."""

        def __init__(self):
            super().__init__()
            self.state_path = path.with_suffix(".json")
            self.mean, self.epochs = None, []

        def on_train_begin(self, logs=None):
            if path.is_file() and self.state_path.is_file():
                self.epochs = json.loads(self.state_path.read_text())["epochs"]
                from classification.model import load_checkpoint
                self.mean = [np.asarray(w, np.float64) for w in load_checkpoint(path).get_weights()]

        def on_epoch_end(self, epoch, logs=None):
            epoch += 1
            if epoch < from_epoch or epoch in self.epochs:
                return
            current = self.model.get_weights()
            n = len(self.epochs)
            self.mean = [np.asarray(w, np.float64) for w in current] if self.mean is None else \
                [m + (np.asarray(w, np.float64) - m) / (n + 1) for m, w in zip(self.mean, current)]
            self.epochs.append(epoch)
            self.model.set_weights([m.astype(w.dtype) for m, w in zip(self.mean, current)])
            try:
                save_atomically(self.model, path)
                self.state_path.write_text(json.dumps({"epochs": self.epochs}))
            finally:
                self.model.set_weights(current)

    return _WeightAverage()


def Checkpoints(keras, run_dir: Path, monitor: str):
    class _Checkpoints(keras.callbacks.Callback):
        """`last.keras` after every epoch, `best.keras` when `monitor` beats every epoch logged so far
        (history.csv, so a resumed run does not take its first epoch for the best); both written atomically."""

        def on_train_begin(self, logs=None):
            self.best = best_logged(run_dir / "history.csv", monitor)

        def on_epoch_end(self, epoch, logs=None):
            save_atomically(self.model, run_dir / "last.keras")
            value = (logs or {}).get(monitor)
            if value is not None and value > self.best:
                self.best = float(value)
                save_atomically(self.model, run_dir / "best.keras")

    return _Checkpoints()


def StopAfter(keras, n_epochs: int):
    class _StopAfter(keras.callbacks.Callback):
        """Ends this invocation after n epochs (a budgeted session); BackupAndRestore resumes later."""

        def __init__(self):
            super().__init__()
            self.seen = 0

        def on_epoch_end(self, epoch, logs=None):
            self.seen += 1
            if self.seen >= n_epochs:
                self.model.stop_training = True

    return _StopAfter()


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(run_tool(main))
