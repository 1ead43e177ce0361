"""Time one classifier training step at each precision: `python -m bench.train_step --help`.

What a training pass costs on this machine, without the face cache: the project's network
(`classification.model.build_model`) compiled as every training run compiles it
(`classification.train.compile_for_training`), its BatchNorms frozen as in every `--init` run, trained
on random 0-255 images for a few warm-up steps and then timed. Each `--precision` is timed in turn in
one process; the median step is printed. The whole-pipeline figure (augmentation, validation and
checkpoints included) is the seconds per epoch that `classification.train` prints after each epoch.
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from core.cli import OneLineParser, number_in, run_tool
from core.labels import NUM_AGE_GROUPS

WARMUP_STEPS = 3   # the first steps trace and build the graph


def time_steps(precision: str, input_size_px: int, batch: int, steps: int) -> list[float]:
    """Seconds of each of `steps` timed training steps of the classifier computing in `precision`."""
    from classification.model import build_model, freeze_batchnorm
    from classification.train import compile_for_training
    from runtime import import_tensorflow
    keras = import_tensorflow().keras
    model = build_model(input_size_px, precision=precision)
    freeze_batchnorm(model)
    compile_for_training(keras, model, 1e-4)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch, input_size_px, input_size_px, 3)).astype(np.float32)
    targets = {"age": np.eye(NUM_AGE_GROUPS, dtype=np.float32)[rng.integers(0, NUM_AGE_GROUPS, batch)],
               "gender": np.eye(2, dtype=np.float32)[rng.integers(0, 2, batch)]}
    seconds = []
    for step in range(WARMUP_STEPS + steps):
        start = time.perf_counter()
        model.train_on_batch(images, targets)
        if step >= WARMUP_STEPS:
            seconds.append(time.perf_counter() - start)
    return seconds


def main(argv=None) -> int:
    from classification.model import DEFAULT_INPUT_SIZE_PX, PRECISIONS
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--precision", default=",".join(PRECISIONS),
                   help=f"comma-separated, each one of {', '.join(PRECISIONS)}")
    p.add_argument("--steps", type=number_in(1, 10000, int), default=8, help="timed steps per precision")
    p.add_argument("--batch", type=number_in(1, 1024, int), default=32)
    p.add_argument("--input-size", type=number_in(75, 1024, int), default=DEFAULT_INPUT_SIZE_PX)
    p.add_argument("--threads", type=number_in(0, 1024, int), default=0, help="TensorFlow intra-op threads (0 = all cores)")
    args = p.parse_args(argv)
    precisions = args.precision.split(",")
    unknown = [name for name in precisions if name not in PRECISIONS]
    if unknown:
        p.error(f"--precision {','.join(unknown)}: each one of {', '.join(PRECISIONS)}")
    if args.threads:
        from runtime import import_tensorflow
        import_tensorflow().config.threading.set_intra_op_parallelism_threads(args.threads)
    for precision in precisions:
        seconds = time_steps(precision, args.input_size, args.batch, args.steps)
        print(f"{precision}: {statistics.median(seconds) * 1000:.0f} ms per {args.batch}-face training step "
              f"at {args.input_size} px (median of {len(seconds)}; min {min(seconds) * 1000:.0f}, "
              f"max {max(seconds) * 1000:.0f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
