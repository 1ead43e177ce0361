"""Repack a YOLO data.yaml's images as WebP, so the training set fits a size-limited transfer to a GPU machine.

Why: the composites plus the WIDER subset are 152 MB of high-quality JPEG, while a remote GPU call here
carries at most 64 MiB. WebP at quality 80 is 85 MB, 56 % of that (`du -sb` of the image folders), and each source folder is written on
its own (`<out>/<source>/images|labels`), so the folders can travel in separate calls. `<out>/data.yaml`
points at them with relative paths. Labels are copied unchanged (they are normalised, so re-encoding moves
no box).

    python -m detection.pack_data --out .gpu

`--out` must be a new or empty folder (`--overwrite` replaces the packed folders and data.yaml of an earlier
pack there), and never the source dataset's folder or one of its image folders: packing used to delete
`<out>/train` and `<out>/val` and replace `<out>/data.yaml`, the source's own when --out was its folder.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import cv2
import yaml
from tqdm import tqdm

from core.cli import OneLineParser, number_in, refuse_existing, run_tool
from core.errors import OutputError
from detection.train import ensure_data
from detection.yolo_files import folder_images, label_path, split_folders


def listed_images(entry: Path) -> list[Path]:
    """The images of one data.yaml entry: a folder, or a .txt list of image paths (ultralytics reads both;
    `detection.train_data` writes lists so that set-aside WIDER images stay out of training)."""
    if entry.suffix == ".txt":
        return [Path(line.strip()) for line in entry.read_text().splitlines() if line.strip()]
    return folder_images(entry)


def pack(data_yaml: Path, out: Path, quality: int) -> dict[str, float]:
    """Write every source folder as WebP under `out`; returns megabytes written per source."""
    sizes_mb = {}
    splits: dict[str, list[str]] = {"train": [], "val": []}
    for split, packed in splits.items():
        folders = split_folders(data_yaml, split)
        for i, folder in enumerate(folders):
            name = f"{split}{i}" if len(folders) > 1 else split
            dst = out / name
            shutil.rmtree(dst, ignore_errors=True)
            written = 0
            for path in tqdm(listed_images(folder), desc=name, unit="img"):
                image = cv2.imread(str(path))
                if image is None:
                    print(f"skipping unreadable {path}", file=sys.stderr)
                    continue
                ok, encoded = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, quality])
                if not ok:
                    raise OutputError(f"WebP encoding failed for {path}: check the image, or leave it out of "
                                      f"the data.yaml's folders")
                rel = Path(path.name) if folder.suffix == ".txt" else path.relative_to(folder)
                target = dst / "images" / rel.with_suffix(".webp")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(encoded.tobytes())
                written += len(encoded)
                label = label_path(path)
                if label.is_file():
                    target_label = label_path(target)
                    target_label.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(label, target_label)
            sizes_mb[name] = written / 1e6
            packed.append(f"{name}/images")
    config = {"train": splits["train"], "val": splits["val"], "nc": 1, "names": ["face"]}
    (out / "data.yaml").write_text(f"# packed from {data_yaml} as WebP q{quality}\n" + yaml.safe_dump(config))
    return sizes_mb


def check_out(data_yaml: Path, out: Path) -> None:
    """Refuse, whatever the flags, an --out that overlaps the source: its data.yaml's folder or an image folder
    it names, either inside the other."""
    sources = [data_yaml.parent] + [folder.parent if folder.suffix == ".txt" else folder
                                    for split in ("train", "val") for folder in split_folders(data_yaml, split)]
    target = out.resolve()
    for source in (s.resolve() for s in sources):
        if target == source or source in target.parents or target in source.parents:
            raise OutputError(f"--out {out} overlaps the source data at {source}, whose files packing would "
                              f"replace: choose a new folder, e.g. --out .gpu")


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="source data.yaml (default: the detector's training data)")
    p.add_argument("--out", type=Path, required=True, help="output folder, new or empty (keep it git-ignored)")
    p.add_argument("--overwrite", action="store_true",
                   help="pack into a folder that already holds files (its packed folders and data.yaml are replaced)")
    p.add_argument("--quality", type=number_in(0, 100, int), default=80, help="WebP quality, 0-100")
    args = p.parse_args(argv)
    data = ensure_data(args.data) if args.data else None  # a given data.yaml is only read: check it first
    if data is not None:
        check_out(data, args.out)
    if not (args.out.is_dir() and not any(args.out.iterdir())):   # a new or empty folder needs no flag
        refuse_existing(args.out, args.overwrite)
    if data is None:
        data = ensure_data(None)  # may build the composites, so only once --out is known to be usable
        check_out(data, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, mb in pack(data, args.out, args.quality).items():
        print(f"{name}: {mb:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
