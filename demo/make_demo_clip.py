"""Make the bundled demo clip and the test fixtures from FairFace images (CC BY 4.0).

`python -m demo.make_demo_clip` writes demo/demo_faces.mp4 (+ .json describing its segments) and the
small fixtures under tests/fixtures/. Faces are FairFace chips from the classifier's held-out split,
blended into a plain synthetic room and drifting slowly, so tracking and label stability can be seen.
Segments: 1 face, 3 faces, 8 faces (the benchmark's cases).
"""
from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import cv2
import numpy as np

from core.cli import OneLineParser, refuse_existing, run_tool
from core.paths import DATASETS_DIR as DATASETS, REPO_ROOT
from detection.composites import CHIP_FACE_BOX, feathered_ellipse

FPS = 15
SIZE = (640, 480)


def background(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None, None]
    top, bottom = rng.uniform(60, 200, 3), rng.uniform(30, 120, 3)
    bg = (top * (1 - y) + bottom * y) * np.ones((1, width, 1))
    bg += rng.normal(0, 4, bg.shape)
    for _ in range(4):  # a few soft rectangles: furniture, a window
        x0, y0 = rng.integers(0, width - 50), rng.integers(0, height - 50)
        cv2.rectangle(bg, (int(x0), int(y0)), (int(x0 + rng.integers(40, 260)), int(y0 + rng.integers(40, 200))),
                      rng.uniform(40, 220, 3).tolist(), -1)
    return cv2.GaussianBlur(np.clip(bg, 0, 255).astype(np.uint8), (0, 0), 3)


def held_out_fairface(datasets: Path, n: int, seed: int) -> list[dict]:
    from facedata.datasets import read_fairface, split_name
    samples = [s for s in read_fairface(datasets / "fairface") if split_name(s) == "test"]
    random.Random(seed).shuffle(samples)
    return [{"path": s.path, "file": Path(s.path).name, "gender": s.gender,
             "age_range": s.age_range_years} for s in samples[:n]]


def render_segment(faces: list[dict], n_frames: int, face_px: int, layout: list[tuple[float, float]], seed: int,
                   size=SIZE):
    width, height = size
    bg = background(width, height, seed)
    chips = [cv2.imread(f["path"]) for f in faces]
    fx1, fy1, fx2, fy2 = CHIP_FACE_BOX["fairface"]
    chip_px = int(face_px / (fx2 - fx1))
    alpha = feathered_ellipse(chip_px)
    chips = [cv2.resize(c, (chip_px, chip_px), interpolation=cv2.INTER_AREA).astype(np.float32) for c in chips]
    phases = [random.Random(seed + i).uniform(0, 2 * math.pi) for i in range(len(faces))]
    frames = []
    for t in range(n_frames):
        frame = bg.astype(np.float32).copy()
        for chip, (cx, cy), phase in zip(chips, layout, phases):
            dx = 0.03 * width * math.sin(2 * math.pi * t / (FPS * 6) + phase)
            dy = 0.015 * height * math.cos(2 * math.pi * t / (FPS * 4) + phase)
            x, y = int(cx * width + dx - chip_px / 2), int(cy * height + dy - chip_px / 2)
            x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + chip_px, width), min(y + chip_px, height)
            if x1 <= x0 or y1 <= y0:
                continue
            a = alpha[y0 - y:y1 - y, x0 - x:x1 - x]
            frame[y0:y1, x0:x1] = a * chip[y0 - y:y1 - y, x0 - x:x1 - x] + (1 - a) * frame[y0:y1, x0:x1]
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: int = FPS) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(frame)
    writer.release()


SEGMENTS = (  # (faces, seconds, face size px, centres as fractions of the frame)
    (1, 8, 170, [(0.5, 0.45)]),
    (3, 8, 120, [(0.2, 0.45), (0.5, 0.5), (0.8, 0.45)]),
    (8, 8, 80, [(0.14 + 0.24 * (i % 4), 0.28 + 0.45 * (i // 4)) for i in range(8)]),
)


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=21)
    p.add_argument("--datasets", type=Path, default=DATASETS, help="folder with fairface/ (../shared/datasets)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the demo clip and test fixtures already there (the default seed remakes them "
                        "byte for byte; another seed changes the benchmark's and the tests' input)")
    args = p.parse_args(argv)
    if not (args.datasets / "fairface" / "fairface_label_train.csv").is_file():
        print(f"error: no fairface/fairface_label_train.csv in the datasets folder {args.datasets}: fetch it as "
              f"../shared/datasets/README.md says, or pass --datasets FOLDER", file=sys.stderr)
        return 2
    out = REPO_ROOT / "demo" / "demo_faces.mp4"
    fixtures = REPO_ROOT / "tests" / "fixtures"
    for path in (out, out.with_suffix(".json"), fixtures / "two_faces.mp4", fixtures / "two_faces.jpg"):
        refuse_existing(path, args.overwrite)
    people = held_out_fairface(args.datasets, 12 + 2, args.seed)
    frames, segments, start = [], [], 0
    used = 0
    for i, (n, seconds, face_px, layout) in enumerate(SEGMENTS):
        faces = people[used:used + n] if n < 8 else people[:8]
        used += n if n < 8 else 0
        seg = render_segment(faces, seconds * FPS, face_px, layout, args.seed + i)
        segments.append({"faces": n, "first_frame": start, "frames": len(seg), "face_px": face_px,
                         "people": [{k: f[k] for k in ("file", "gender", "age_range")} for f in faces]})
        frames += seg
        start += len(seg)
    write_video(out, frames)
    (out.with_suffix(".json")).write_text(json.dumps({"fps": FPS, "size": SIZE, "segments": segments}, indent=1))
    fixtures.mkdir(parents=True, exist_ok=True)
    small = render_segment(people[12:14], 24, 70, [(0.3, 0.5), (0.72, 0.5)], args.seed + 10, size=(320, 240))
    write_video(fixtures / "two_faces.mp4", small)
    cv2.imwrite(str(fixtures / "two_faces.jpg"), small[0], [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(frames)} frames) and fixtures in {fixtures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_tool(main))
