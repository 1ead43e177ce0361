"""Put a training run's candidates through the shipping gate: `python -m classification.gate --help`.

The gate fixed in session 19 (model card, "The gate from session 19 on"), as one resumable command
instead of a shell script per session:

1. export each candidate the run kept (`last.keras`, and `average.keras` with `--average-from-epoch`)
   with `--calibration-batches 0`, to `RUN_DIR/NAME<candidate>.tflite`;
2. evaluate each on the validation split (`runs/eval/val_NAME<candidate>`) and compare it with the
   shipped stage's validation metrics by the strict rule;
3. of the candidates better on every source there, the one with the larger sum of mean changes, and
   only it, is evaluated on the test split (`runs/eval/NAME`) and judged by the band rule against the
   shipped stage's test metrics (both need `per_face.npz`, which `classification.evaluate` writes).

Each step runs as its own process (TensorFlow's memory goes back between steps) with its log in
`runs/gate_NAME/`; a step whose output already exists is not run again, so an interrupted gate picks
up where it stopped, but only when that output was made from this run's file (`check_kept`: not older
than it, and an evaluation of these very weights); otherwise the gate stops and asks for a new --name.
Exit status: 0 the chosen candidate passed both splits (ship it by the card's
procedure), 1 none did, 2 bad input.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from classification.compare import held_out_split, judge, read_metrics
from classification.evaluate import PER_FACE_FILE
from core.cli import OneLineParser, run_tool
from core.paths import EVAL_DIR, REPO_ROOT

CANDIDATES = ("last", "average")   # the checkpoints classification.train keeps, in the order they are judged


@dataclass
class Judged:
    """One candidate's validation verdict against the shipped stage."""

    name: str
    better: bool          # better on every source by the strict rule
    sum_points: float     # sum of the six-setting mean changes: breaks a tie between two that are better


def choose(judged: list[Judged]) -> Judged | None:
    """The candidate that goes to the test split: better on every source, largest sum; None if none is."""
    passing = [j for j in judged if j.better]
    return max(passing, key=lambda j: j.sum_points) if passing else None


def run_step(command: list[str], output: Path, log: Path) -> None:
    """Run `python -m ...` unless `output` already exists; raise RuntimeError naming the log if it fails."""
    if output.exists():
        print(f"kept {output} (already there)", flush=True)
        return
    print(f"running {' '.join(command)}  (log: {log})", flush=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as out:
        done = subprocess.run([sys.executable, "-m", *command], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0 or not output.exists():
        raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}): see {log}")


def check_kept(output: Path, made_from: Path) -> None:
    """RuntimeError when `output` is there but cannot be kept as the result for `made_from`: older than it
    (the run trained on, or another run left it), or an evaluation of other weights."""
    if not output.exists():
        return
    if made_from.exists() and output.stat().st_mtime < made_from.stat().st_mtime:
        raise RuntimeError(f"{output} is older than {made_from}, which changed after it was made: give the gate a "
                           f"new --name (or delete {output})")
    if output.name == "metrics.json":
        try:
            weights = json.loads(output.read_text()).get("weights")
        except (OSError, ValueError, AttributeError):
            raise RuntimeError(f"{output} cannot be read: delete {output.parent} and rerun the gate") from None
        if weights and (REPO_ROOT / weights).resolve() != made_from.resolve():   # evaluate ran in REPO_ROOT
            raise RuntimeError(f"{output} measured {weights}, not {made_from}: give the gate a new --name "
                               f"(or delete {output.parent})")


def gate(run_dir: Path, name: str, val_base: Path, test_base: Path, eval_dir: Path, step=run_step) -> bool:
    logs = eval_dir.parent / f"gate_{name}"
    logs.mkdir(parents=True, exist_ok=True)
    judged = []
    for candidate in CANDIDATES:
        checkpoint = run_dir / f"{candidate}.keras"
        if not checkpoint.is_file():
            continue
        tflite = run_dir / f"{name}{candidate}.tflite"
        check_kept(tflite, checkpoint)
        step(["classification.export", str(checkpoint), "--calibration-batches", "0", "--out", str(tflite)],
             tflite, logs / f"export_{candidate}.log")
        val_dir = eval_dir / f"val_{name}{candidate}"
        check_kept(val_dir / "metrics.json", tflite)
        step(["classification.evaluate", "--weights", str(tflite), "--split", "val", "--out", str(val_dir)],
             val_dir / "metrics.json", logs / f"val_{candidate}.log")
        val = judge(val_base, val_dir / "metrics.json")
        (logs / f"compare_val_{candidate}.txt").write_text(val.text + "\n", encoding="utf-8")
        judged.append(Judged(candidate, val.better, val.sum_points))
        print(f"{candidate}: validation {'better on every source' if val.better else 'not better'}; "
              f"{val.text.splitlines()[-1]}", flush=True)
    if not judged:
        raise ValueError(f"{run_dir} holds no last.keras or average.keras: is it a classification.train run folder?")
    chosen = choose(judged)
    if chosen is None:
        print("no candidate is better on every source of the validation split: the test split is not used", flush=True)
        return False
    print(f"to the test split: {chosen.name} (sum {chosen.sum_points:+.2f} points)", flush=True)
    test_dir = eval_dir / name
    check_kept(test_dir / "metrics.json", run_dir / f"{name}{chosen.name}.tflite")
    step(["classification.evaluate", "--weights", str(run_dir / f"{name}{chosen.name}.tflite"), "--out", str(test_dir)],
         test_dir / "metrics.json", logs / "test.log")
    test = judge(test_base, test_dir / "metrics.json", rule="band")
    (logs / "compare_test.txt").write_text(test.text + "\n", encoding="utf-8")
    print(test.text, flush=True)
    return test.better


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path, help="a classification.train --run-dir")
    p.add_argument("--name", required=True, help="the stage's short name, e.g. s23: names its files and folders")
    p.add_argument("--val-base", type=Path, required=True,
                   help="the shipped stage's validation metrics.json (classification.evaluate --split val --out)")
    p.add_argument("--test-base", type=Path, required=True,
                   help="the shipped stage's test metrics.json, with per_face.npz beside it")
    p.add_argument("--eval-dir", type=Path, default=EVAL_DIR, help="where evaluations go")
    args = p.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", args.name):
        p.error(f"--name {args.name!r}: use letters, digits, '_', '-' and '.' (it names files and folders)")
    for path in (args.val_base, args.test_base, args.test_base.parent / PER_FACE_FILE):
        if not path.is_file():
            print(f"error: {path} not found: evaluate the shipped stage first (classification.evaluate --out)",
                  file=sys.stderr)
            return 2
    for path, split in ((args.val_base, "val"), (args.test_base, "test")):   # before minutes of export and evaluation
        try:
            found = held_out_split(read_metrics(path))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if found != split:
            print(f"error: {path} is an evaluation of the {found} split; pass the shipped stage's {split}-split "
                  f"metrics.json", file=sys.stderr)
            return 2
    try:
        passed = gate(args.run_dir, args.name, args.val_base, args.test_base, args.eval_dir)
    except (RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("passed the gate: ship it by the model card's procedure" if passed else "not shipped", flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(run_tool(main))
