"""Train the classifier on a lent GPU machine without TensorFlow: `python -m classification.train_gpu --help`.

The same network as `classification.train` (`classification.model.build_model`), on Keras 3's torch
backend, from a `classification.carry pack` folder; the faces are decoded once and kept on the GPU,
and augmented there as `classification.train.make_augment` does on the CPU, from the same ranges
(`classification.augment`: lighting, a square crop at a random slider scale padded with black, flips,
low resolution). The losses, class weights, AdamW settings and per-tensor gradient clipping are
`classification.train`'s; BatchNorm stays frozen, as in every `--init` run (the starting weights come
from a shipped `.tflite` with folded statistics).

It trains for a fixed wall-clock budget (`--minutes`, a lease): the cosine learning-rate schedule is
planned from the step time measured over the first `PROBE_STEPS` steps, and again at step
`REPLAN_AT_STEP` from the mean time since. Every `--save-minutes` and at
the end it writes `last_*.npz` and, from `--average-from` of the planned steps on, `average_*.npz` (the
running mean of the weights, sampled every `--average-every` steps) as float16 parts, which
`classification.carry unpack` turns into `.keras` checkpoints for `classification.gate`; `log.csv`
holds the training losses and speed. A killed run keeps the parts it last wrote.
"""
from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from classification.augment import AUGMENT, MAX_TRAIN_SCALE_BY_SOURCE, AugmentRanges
from core.cli import OneLineParser, number_in, positive, run_tool
from core.config import CROP_SCALE_RANGE

PROBE_STEPS = 30            # steps timed (after PROBE_SKIP_STEPS warm-up ones) to plan the schedule
PROBE_SKIP_STEPS = 10
REPLAN_AT_STEP = 300        # planned again from the mean step time so far: session 27's two runs side by side
                            # probed while the other was still decoding and overran 16 min by 1.3 and 4.1 min
LOG_EVERY_STEPS = 50
CLIP_NORM = 2.0             # per tensor, as Keras' `clipnorm` in classification.train
WEIGHT_DECAY = 1e-4


def parse_args(argv=None):
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--faces", required=True, help="a `classification.carry pack` folder")
    p.add_argument("--init", default=None, help="folder with the starting weights' init_*.npz (default: --faces)")
    p.add_argument("--out", required=True, help="folder for last_*.npz, average_*.npz and log.csv")
    p.add_argument("--minutes", type=positive(), required=True, help="wall-clock budget for the training steps")
    p.add_argument("--max-steps", type=positive(int), default=0, help="stop after N steps (0: the budget decides)")
    p.add_argument("--batch", type=positive(int), default=256)
    p.add_argument("--lr", type=positive(), default=3e-4, help="peak learning rate (CPU stages: 1e-4 at batch 32)")
    p.add_argument("--warmup-steps", type=number_in(1, 10**7, int), default=200)
    p.add_argument("--gender-loss-weight", type=number_in(0, 100), default=1.0)
    p.add_argument("--average-from", type=number_in(0, 1), default=0.5,
                   help="fraction of the planned steps after which the weights are averaged (1: no average)")
    p.add_argument("--average-every", type=positive(int), default=100, help="steps between samples of the average")
    p.add_argument("--save-minutes", type=positive(), default=2.0, help="minutes between writes of last_*.npz")
    p.add_argument("--precision", choices=("float32", "bfloat16"), default="bfloat16")
    p.add_argument("--device", default="cuda", help="torch device (cuda, or cpu for a trial)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def lr_at(step: int, peak: float, warmup: int, total: int) -> float:
    """Linear warm-up to `peak`, then cosine decay to 1% of it at `total` (classification.train's schedule)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * progress)))


def square_crops(torch, images, half, cy, cx, size_px: int):
    """TensorFlow's `crop_and_resize` (bilinear, black beyond the image) of the squares centred at (cy, cx)
    with half-side `half`, all as fractions of each image's side: float NHWC in, (N, size_px, size_px, C) out."""
    import torch.nn.functional as F
    n = images.shape[0]
    theta = torch.zeros(n, 2, 3, device=images.device)   # box (0-1) -> sampling grid (-1..1), corners aligned
    theta[:, 0, 0] = theta[:, 1, 1] = 2 * half
    theta[:, 0, 2] = 2 * cx - 1
    theta[:, 1, 2] = 2 * cy - 1
    grid = F.affine_grid(theta, [n, images.shape[3], size_px, size_px], align_corners=True)
    out = F.grid_sample(images.permute(0, 3, 1, 2), grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out.permute(0, 2, 3, 1)


def planned_steps(step: int, elapsed_s: float, budget_s: float, step_s: float) -> int:
    """Steps the run can take in all, `step` already taken after `elapsed_s` of a `budget_s` budget, at
    `step_s` a step from now on (at least one more)."""
    return step + max(1, int((budget_s - elapsed_s) / step_s))


def make_augment(torch, input_size_px: int, cache_scale: float, ranges: AugmentRanges = AUGMENT):
    """`classification.train.make_augment` in torch, on whole batches on the GPU, from the same `ranges`:
    uint8 NHWC squares and each face's largest training scale in, float32 NHWC crops (0-255) out."""
    import torch.nn.functional as F

    def uniform(n, low_high, device):
        return torch.empty(n, 1, 1, 1, device=device).uniform_(*low_high)

    def chosen(n, rate, device):
        return torch.rand(n, 1, 1, 1, device=device) < rate

    def augment(images_u8, max_scale):
        n, dev = images_u8.shape[0], images_u8.device
        x = images_u8.float()
        x = x * uniform(n, ranges.gain, dev) + uniform(n, ranges.shift_levels, dev)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * uniform(n, ranges.contrast, dev) + mean
        grey = x.mean(dim=3, keepdim=True).expand_as(x)
        x = grey + (x - grey) * uniform(n, ranges.saturation, dev)
        x = torch.where(chosen(n, ranges.grey_rate, dev), grey, x).clamp(0.0, 255.0)
        lo = CROP_SCALE_RANGE[0]
        half = (lo + torch.rand(n, device=dev) * (max_scale - lo)) / cache_scale / 2.0
        jitter = ranges.centre_jitter_of_half_side
        shift = torch.empty(n, 2, device=dev).uniform_(-jitter, jitter) * half[:, None]
        x = square_crops(torch, x, half, 0.5 + shift[:, 0], 0.5 + shift[:, 1], input_size_px).permute(0, 3, 1, 2)
        x = torch.where(chosen(n, ranges.flip_rate, dev), x.flip(3), x)
        small = int(torch.randint(ranges.low_res_min_px, input_size_px, ()).item())
        blurred = F.interpolate(F.interpolate(x, (small, small), mode="bilinear", antialias=True, align_corners=False),
                                (input_size_px, input_size_px), mode="bilinear", align_corners=False)
        x = torch.where(chosen(n, ranges.low_res_rate, dev), blurred, x)
        return x.permute(0, 2, 3, 1).contiguous()

    return augment


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = "torch"          # before Keras is first imported (runtime.import_keras)
    from runtime import import_keras, import_torch
    torch = import_torch()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: no CUDA device here: run on the lent GPU machine, or pass --device cpu for a trial", file=sys.stderr)
        return 2
    os.environ.setdefault("KERAS_TORCH_DEVICE", args.device)
    keras = import_keras()
    if keras.backend.backend() != "torch":
        print(f"error: Keras was already imported on its {keras.backend.backend()} backend: run this as its own process",
              file=sys.stderr)
        return 2
    from classification.carry import load_weight_parts, read_packed, save_weight_parts, weight_facts
    from classification.model import build_model, freeze_batchnorm
    from classification.train import class_weights

    faces, out = Path(args.faces), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    keras.utils.set_random_seed(args.seed)
    torch.backends.cudnn.benchmark = True
    t0 = time.time()
    init_dir = Path(args.init or faces)
    init_facts = weight_facts(init_dir, "init")    # before minutes of decoding
    manifest, images, labels = read_packed(faces)
    n = len(images)
    if n < args.batch:
        print(f"error: --batch {args.batch} is more than the {n} packed faces", file=sys.stderr)
        return 2
    print(f"decoded {n} faces in {time.time() - t0:.0f} s", flush=True)
    dev = torch.device(args.device)
    images_t = torch.from_numpy(images).to(dev)
    del images
    age_soft = labels["age_soft"].astype(np.float32)
    gender = labels["gender"].astype(np.int64)
    max_scale = np.array([MAX_TRAIN_SCALE_BY_SOURCE.get(manifest["sources"][k], CROP_SCALE_RANGE[1])
                          for k in labels["source"]], np.float32)
    w_group = class_weights(age_soft)
    age_t = torch.from_numpy(age_soft).to(dev)
    age_w_t = torch.from_numpy((age_soft @ w_group).astype(np.float32)).to(dev)
    gender_t = torch.from_numpy(np.maximum(gender, 0)).to(dev)
    gender_w_t = torch.from_numpy((gender >= 0).astype(np.float32)).to(dev)
    max_scale_t = torch.from_numpy(max_scale).to(dev)

    size_px = int(init_facts["input_size_px"])
    model = build_model(size_px, precision=args.precision)
    model.set_weights(load_weight_parts(init_dir, "init"))
    freeze_batchnorm(model)
    params = [v.value for v in model.trainable_weights]
    variables = [v.value for v in model.weights]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=WEIGHT_DECAY, eps=1e-7)
    augment = make_augment(torch, size_px, float(manifest["cache_scale"]))
    print(f"model on {dev}: {sum(p.numel() for p in params)} trainable values, computing in {args.precision}", flush=True)

    def train_step(idx, lr):
        x = augment(images_t[idx], max_scale_t[idx])
        pred = model(x, training=True)
        age_p = pred["age"].float().clamp(1e-7, 1.0)
        gender_p = pred["gender"].float().clamp(1e-7, 1.0)
        age_loss = (age_w_t[idx] * -(age_t[idx] * age_p.log()).sum(1)).mean()
        gender_loss = (gender_w_t[idx] * -gender_p.log().gather(1, gender_t[idx][:, None])[:, 0]).mean()
        loss = age_loss + args.gender_loss_weight * gender_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in params if p.grad is not None]
        norms = torch._foreach_norm(grads)
        torch._foreach_mul_(grads, [torch.clamp(CLIP_NORM / (g + 1e-6), max=1.0) for g in norms])
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
        with torch.no_grad():
            age_hit = (age_p.argmax(1) == age_t[idx].argmax(1)).float().mean()
            gender_hit = ((gender_p.argmax(1) == gender_t[idx]).float() * gender_w_t[idx]).sum() / gender_w_t[idx].sum().clamp(min=1)
        return age_loss.detach(), gender_loss.detach(), age_hit, gender_hit

    def save(prefix, weights):
        save_weight_parts([w.detach().float().cpu().numpy() for w in weights], out, prefix)

    budget_s = args.minutes * 60.0
    total = args.max_steps or 10**9            # replanned after the probe
    step, order, position = 0, torch.randperm(n, device=dev), 0
    average, averaged = None, 0
    start = last_save = time.time()
    probe_start = None
    log_path = out / "log.csv"
    with log_path.open("w", newline="") as log_file:
        log = csv.writer(log_file)
        log.writerow(["step", "planned_steps", "passes", "lr", "age_loss", "gender_loss", "age_acc", "gender_acc",
                      "faces_per_s", "elapsed_s"])
        while step < total:
            if position + args.batch > n:
                order, position = torch.randperm(n, device=dev), 0
            idx = order[position:position + args.batch]
            position += args.batch
            results = train_step(idx, lr_at(step, args.lr, args.warmup_steps, total))
            step += 1
            if step == PROBE_SKIP_STEPS:
                torch.cuda.synchronize() if dev.type == "cuda" else None
                probe_start = time.time()
            if step in (PROBE_SKIP_STEPS + PROBE_STEPS, REPLAN_AT_STEP):
                torch.cuda.synchronize() if dev.type == "cuda" else None
                step_s = (time.time() - probe_start) / (step - PROBE_SKIP_STEPS)
                planned = planned_steps(step, time.time() - start, budget_s, step_s)
                total = max(min(total, planned) if args.max_steps else planned, step + 1)
                print(f"{step_s * 1000:.0f} ms a step of {args.batch} ({args.batch / step_s:.0f} faces/s): "
                      f"{total} steps planned, {total * args.batch / n:.1f} passes over {n} faces", flush=True)
            if step % LOG_EVERY_STEPS == 0 or step == total:
                values = [float(v) for v in results]
                elapsed = time.time() - start
                log.writerow([step, total, round(step * args.batch / n, 3), f"{lr_at(step, args.lr, args.warmup_steps, total):.3g}",
                              *[round(v, 4) for v in values], round(step * args.batch / elapsed), round(elapsed)])
                log_file.flush()
                print(f"step {step}/{total} age_loss {values[0]:.3f} gender_loss {values[1]:.3f} age_acc "
                      f"{values[2]:.3f} gender_acc {values[3]:.3f} {elapsed:.0f} s", flush=True)
            if total < 10**9 and step >= args.average_from * total and args.average_from < 1 and \
                    (step % args.average_every == 0 or step == total):
                with torch.no_grad():
                    if average is None:
                        average = [v.detach().float().clone() for v in variables]
                    else:
                        torch._foreach_add_(average, torch._foreach_sub([v.float() for v in variables], average),
                                            alpha=1.0 / (averaged + 1))
                averaged += 1
            if time.time() - last_save > args.save_minutes * 60:
                save("last", variables)
                if average is not None:
                    save("average", average)
                last_save = time.time()
    save("last", variables)
    if average is not None:
        save("average", average)
    (out / "state.json").write_text(json.dumps({
        "steps": step, "batch": args.batch, "faces": n, "passes": round(step * args.batch / n, 2),
        "averaged_samples": averaged, "lr": args.lr, "minutes": round((time.time() - start) / 60, 2),
        "init": init_facts.get("source"), "precision": args.precision}, indent=1))
    print(f"done: {step} steps ({step * args.batch / n:.1f} passes) in {(time.time() - start) / 60:.1f} min; "
          f"{averaged} samples in the average; parts in {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
