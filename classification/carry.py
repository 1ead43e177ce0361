"""Carry a classifier training stage to a lent GPU machine and its weights back: `python -m classification.carry --help`.

The lent machine has PyTorch but no TensorFlow, and each call to it takes at most 64 MiB (the working
tree included) and gives back files of at most 16 MiB. So:

* `pack` writes the face cache's training split as WebP (quality 80: about 1.5 KB a 160 px face,
  against 76.8 KB raw in `images.npy`) in shards of `--shard-mib`, with its labels, and the starting
  weights as float16 parts of at most `PART_MIB`; `classification.train_gpu` trains from them there.
* `unpack` turns the float16 parts that come back into `.keras` checkpoints (`last.keras`,
  `average.keras`) in a run folder, so `classification.gate` judges them like any CPU run.

Every file is plain arrays (`np.load(..., allow_pickle=False)`): a packed or returned file never runs code.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from core.cli import OneLineParser, positive, run_tool
from core.paths import FACE_CACHE_DIR

PART_MIB = 15                 # the device returns files of at most 16 MiB
WEBP_QUALITY = 80             # 1.5 KB a face on a 300-face sample; JPEG at 80 took 3.3 KB
MANIFEST = "manifest.json"


def save_weight_parts(weights: list[np.ndarray], out_dir: Path, prefix: str, part_mib: float = PART_MIB,
                      **facts) -> list[Path]:
    """`weights` (a model's `get_weights()`, in order) as float16 `.npz` parts of at most `part_mib` each,
    written through temporary names, so an interrupted write leaves the previous parts whole; `prefix.json`
    says how many there are, with `facts` (the input size, where they came from)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    parts, current, size = [], {}, 0
    for i, w in enumerate(weights):
        w16 = np.asarray(w, np.float16)
        if current and size + w16.nbytes > part_mib * 2**20:
            parts.append(current)
            current, size = {}, 0
        current[f"w{i:04d}"] = w16
        size += w16.nbytes
    parts.append(current)
    paths = []
    for k, arrays in enumerate(parts):
        path = out_dir / f"{prefix}_{k:02d}.npz"
        tmp = path.with_name(path.name + ".partial.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
        paths.append(path)
    (out_dir / f"{prefix}.json").write_text(json.dumps({"tensors": len(weights), "parts": len(parts), **facts}))
    return paths


def weight_facts(out_dir: Path, prefix: str) -> dict:
    """What `save_weight_parts` recorded beside the parts under `prefix`; ValueError when there are none."""
    info_path = out_dir / f"{prefix}.json"
    if not info_path.is_file():
        raise ValueError(f"no {info_path}: is {out_dir} a folder that classification.carry or train_gpu wrote?")
    return json.loads(info_path.read_text())


def load_weight_parts(out_dir: Path, prefix: str) -> list[np.ndarray]:
    """The float32 weights `save_weight_parts` wrote under `prefix`; ValueError naming what is missing."""
    info = weight_facts(out_dir, prefix)
    found: dict[int, np.ndarray] = {}
    for k in range(int(info["parts"])):
        path = out_dir / f"{prefix}_{k:02d}.npz"
        if not path.is_file():
            raise ValueError(f"{path} is missing ({info['parts']} parts expected): copy every part back")
        with np.load(path, allow_pickle=False) as part:
            found.update({int(name[1:]): part[name].astype(np.float32) for name in part.files})
    if sorted(found) != list(range(int(info["tensors"]))):
        raise ValueError(f"{out_dir}/{prefix}_*.npz hold {len(found)} of {info['tensors']} tensors: copy every part back")
    return [found[i] for i in range(len(found))]


def encode_face(rgb: np.ndarray) -> np.ndarray:
    """One RGB square as WebP bytes (uint8)."""
    import cv2
    ok, blob = cv2.imencode(".webp", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITY])
    if not ok:
        raise ValueError("OpenCV could not encode WebP: is this OpenCV built without it?")
    return blob.ravel()


def decode_faces(data: np.ndarray, offsets: np.ndarray, threads: int = 8) -> np.ndarray:
    """A shard's faces (`encode_face` blobs concatenated in `data`, face i at `offsets[i]:offsets[i + 1]`)
    back to RGB squares (N, S, S, 3) uint8, decoded on `threads` threads."""
    import cv2
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        bgr = cv2.imdecode(data[offsets[i]:offsets[i + 1]], cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"face {i} of a shard is not a readable WebP image: pack it again")
        return bgr[:, :, ::-1]

    with ThreadPoolExecutor(threads) as pool:
        return np.stack(list(pool.map(one, range(len(offsets) - 1))))


def pack(cache: Path, out: Path, shard_mib: float, init: str | None, limit: int = 0) -> dict:
    """Write the training split of `cache` and the `init` weights to `out` (see the module docstring)."""
    from classification.cache import SOURCES, cache_scale, load_cache
    images, labels = load_cache(cache)
    train_idx = np.flatnonzero(labels["keep"] & (labels["split"] == "train"))
    if limit:
        train_idx = train_idx[:limit]
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "labels.npz", age_soft=labels["age_soft"][train_idx].astype(np.float32),
             gender=labels["gender"][train_idx].astype(np.int8), source=labels["source"][train_idx].astype(np.int8))
    shards, blobs = [], []

    def flush():
        if not blobs:
            return
        path = out / f"faces_{len(shards):03d}.npz"
        np.savez(path, data=np.concatenate(blobs), offsets=np.concatenate([[0], np.cumsum([len(b) for b in blobs])]))
        first = sum(shard["count"] for shard in shards)
        shards.append({"file": path.name, "first": first, "count": len(blobs), "bytes": path.stat().st_size})
        print(f"{path}: faces {first}-{first + len(blobs) - 1}, {shards[-1]['bytes'] / 2**20:.1f} MiB", flush=True)
        blobs.clear()

    size = 0
    for i in train_idx:   # face by face, so no shard passes shard_mib
        blob = encode_face(images[i])
        if size + len(blob) > shard_mib * 2**20:
            flush()
            size = 0
        blobs.append(blob)
        size += len(blob)
    flush()
    manifest = {"faces": int(len(train_idx)), "cache": str(cache), "cache_scale": cache_scale(cache),
                "size_px": int(images.shape[1]), "sources": list(SOURCES), "shards": shards}
    if init:
        from classification.model import load_checkpoint
        model = load_checkpoint(init)
        save_weight_parts(model.get_weights(), out, "init", input_size_px=int(model.inputs[0].shape[1]),
                          source=str(Path(init).resolve()))
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def read_packed(folder: Path) -> tuple[dict, np.ndarray, dict]:
    """(manifest, RGB squares, labels) from a `pack` folder; ValueError naming a missing shard."""
    manifest = json.loads((folder / MANIFEST).read_text())
    images = []
    for shard in manifest["shards"]:
        path = folder / shard["file"]
        if not path.is_file():
            raise ValueError(f"{path} is missing: carry every faces_*.npz of the pack ({len(manifest['shards'])})")
        with np.load(path, allow_pickle=False) as z:
            images.append(decode_faces(z["data"], z["offsets"]))
    with np.load(folder / "labels.npz", allow_pickle=False) as z:
        labels = {k: z[k] for k in z.files}
    return manifest, np.concatenate(images), labels


def unpack(parts_dir: Path, template: str, run_dir: Path, overwrite: bool = False) -> list[Path]:
    """`last`/`average` parts in `parts_dir` -> `run_dir/last.keras`, `run_dir/average.keras`, with the
    architecture of the `template` checkpoint the stage started from and its BatchNorm layers frozen, as
    train_gpu trained them (a CPU stage from these checkpoints keeps the statistics, as every --init run does)."""
    from classification.model import freeze_batchnorm, load_checkpoint, save_atomically
    prefixes = [prefix for prefix in ("last", "average") if (parts_dir / f"{prefix}.json").is_file()]
    if not prefixes:
        raise ValueError(f"{parts_dir} holds no last.json or average.json: give the folder train_gpu wrote")
    for prefix in prefixes:
        if (run_dir / f"{prefix}.keras").exists() and not overwrite:
            raise FileExistsError(f"{run_dir / f'{prefix}.keras'} exists and was kept: give another run folder or --overwrite")
    model = load_checkpoint(template)
    freeze_batchnorm(model)
    shapes = [tuple(w.shape) for w in model.get_weights()]
    written = []
    run_dir.mkdir(parents=True, exist_ok=True)
    for prefix in prefixes:
        target = run_dir / f"{prefix}.keras"
        weights = load_weight_parts(parts_dir, prefix)
        if [w.shape for w in weights] != shapes:
            raise ValueError(f"{parts_dir}/{prefix}_*.npz do not fit {template}: unpack with the checkpoint the stage started from")
        model.set_weights(weights)
        save_atomically(model, target)
        written.append(target)
        print(f"wrote {target}", flush=True)
    return written


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("pack", help="faces and starting weights, to carry to the GPU machine")
    a.add_argument("--cache", default=str(FACE_CACHE_DIR), help="face cache folder (classification.cache)")
    a.add_argument("--out", required=True, help="a new or empty folder (git-ignored, e.g. .gpu/faces)")
    a.add_argument("--shard-mib", type=positive(), default=28.0, help="largest face shard, MiB")
    a.add_argument("--init", default=None, help="a .keras checkpoint to start from (e.g. runs/<run>/init.keras)")
    a.add_argument("--limit", type=positive(int), default=0, help="pack only the first N training faces (a trial)")
    b = sub.add_parser("unpack", help="returned float16 parts -> .keras checkpoints for classification.gate")
    b.add_argument("parts", help="folder holding last_*.npz / average_*.npz and their .json")
    b.add_argument("--template", required=True, help="the .keras checkpoint the stage started from (its architecture)")
    b.add_argument("--run-dir", required=True, help="run folder to write last.keras / average.keras into")
    b.add_argument("--overwrite", action="store_true", help="replace existing checkpoints there")
    args = p.parse_args(argv)
    if args.command == "pack":
        out = Path(args.out)
        if out.is_dir() and any(out.iterdir()):
            print(f"error: {out} is not empty and was kept: give a new folder", file=sys.stderr)
            return 2
        if not (Path(args.cache) / "labels.npz").is_file():
            print(f"error: no face cache at {args.cache}: build it with `python -m classification.cache`", file=sys.stderr)
            return 2
        manifest = pack(Path(args.cache), out, args.shard_mib, args.init, args.limit)
        print(f"packed {manifest['faces']} faces in {len(manifest['shards'])} shards into {out}", flush=True)
        return 0
    unpack(Path(args.parts), args.template, Path(args.run_dir), args.overwrite)
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
