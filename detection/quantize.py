"""Int8 copy of an exported detector: `python -m detection.quantize FLOAT.onnx --calibration DIR... --out OUT.onnx`.

Why: the app's frame budget (>= 50 FPS with one face on 2 cores) held the detector at a 320 px input, where
faces of 20-40 px shrink to 10-20 px and are missed; 384 px finds more of them but costs more time than the
budget has in float32. Static int8 (8-bit weights per output channel, 8-bit activations whose ranges are
measured on training images) runs the same network at 384 px in less time than float32 at 320 px on the
build machine (figures and commands in weights/face_detector.md).

What stays float: the detection head's box decoding and its last score/box convolutions (`HEAD_KEPT_FLOAT`),
where 8-bit steps would move box edges and scores directly. Calibration images are letterboxed exactly as
the app letterboxes a 640x480 webcam frame at the given input size (one fixed shape: ONNX Runtime's
histogram calibrators need it), and must be training images, never an evaluation set.

Memory: ONNX Runtime keeps every intermediate tensor of every calibration image it is given at once before
it adds them to its histograms; on the build machine 300 images at 384 px passed 17 GB and were killed
beside a training job. Images are therefore handed over `CALIBRATION_CHUNK_IMAGES` at a time, and the
histograms grow chunk by chunk (the first chunk sets the bin width). `--chunk-images 300` with 300 images
reproduces the one-pass calibration the shipped file was made with.
"""
from __future__ import annotations

import random
import re
import sys
import tempfile
from pathlib import Path

import cv2

from core.cli import OneLineParser, positive, refuse_existing, run_tool
from core.config import AppConfig
from core.images import WEBCAM_FRAME_WH_PX
from detection.onnx_yolo import letterbox_blob, rect_input_hw
from detection.yolo_files import folder_images

CALIBRATION_PERCENTILE = 99.999   # activation range: ignore the top 0.001 % of values (outliers)
CALIBRATION_CHUNK_IMAGES = 50     # images whose activations are held at once (about 3 GB at 384 px)
# Nodes of YOLOv8's Detect layer (model.22) kept in float: all but the first two convolutions of each
# box (cv2) and score (cv3) branch, i.e. the last 1x1 convolutions, the DFL and the box decoding.
HEAD_PREFIX = "/model.22/"
HEAD_QUANTISED = re.compile(r"/cv[23]\.\d/cv[23]\.\d\.[01]/")


def head_kept_float(node_names: list[str]) -> list[str]:
    """The Detect-layer nodes that stay float32 (see HEAD_PREFIX)."""
    return [n for n in node_names if n.startswith(HEAD_PREFIX) and not HEAD_QUANTISED.search(n)]


def calibration_files(folders: list[Path], n_images: int, seed: int = 0) -> list[Path]:
    """Up to n_images image files from `folders`, drawn with `seed`."""
    files = [f for folder in folders for f in folder_images(folder)]
    random.Random(seed).shuffle(files)
    return files[:n_images]


def letterboxed_frames(files: list[Path], imgsz_px: int):
    """The network input for each readable image of `files`, letterboxed at the input size the app would
    use for a 640x480 frame."""
    frame_w, frame_h = WEBCAM_FRAME_WH_PX   # the shape calibration frames are letterboxed as
    in_h, in_w = rect_input_hw(frame_h, frame_w, imgsz_px)
    for f in files:
        image = cv2.imread(str(f))
        if image is not None:
            yield letterbox_blob(image, in_h, in_w)[0]


def calibration_frames(folders: list[Path], n_images: int, imgsz_px: int, seed: int = 0):
    """Up to n_images network inputs from the images in `folders` (drawn with `seed`)."""
    return letterboxed_frames(calibration_files(folders, n_images, seed), imgsz_px)


def quantize(float_onnx: Path, out: Path, folders: list[Path], n_images: int = 300, imgsz_px: int = AppConfig.detector_imgsz_px,
             chunk_images: int = CALIBRATION_CHUNK_IMAGES) -> Path:
    """Write a static int8 (QDQ) copy of `float_onnx` to `out`, calibrated on images from `folders`,
    `chunk_images` at a time (see the module docstring on memory)."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    files = calibration_files(folders, n_images)
    chunk = max(1, min(chunk_images, len(files)))
    usable = len(files) - len(files) % chunk   # ONNX Runtime wants whole chunks; at most chunk-1 images unused

    class Reader(CalibrationDataReader):
        """Hands ONNX Runtime one chunk of letterboxed frames at a time (set_range picks the chunk)."""

        def __init__(self, input_name: str):
            self.input_name = input_name
            self.frames = iter(())

        def __len__(self) -> int:
            return usable

        def set_range(self, start_index: int, end_index: int) -> None:
            self.frames = letterboxed_frames(files[start_index:end_index], imgsz_px)

        def get_next(self):
            blob = next(self.frames, None)
            return None if blob is None else {self.input_name: blob}

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_onnx), str(prepared), skip_symbolic_shape=True)  # dynamic H/W defeat it
        model = onnx.load(str(prepared))
        kept = head_kept_float([n.name for n in model.graph.node])
        quantize_static(str(prepared), str(out), Reader(model.graph.input[0].name), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=kept, calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"CalibPercentile": CALIBRATION_PERCENTILE,
                                       "CalibStridedMinMax": chunk})   # despite its name: any calibrator, by chunk
    return out


def is_onnx_model(path: Path) -> bool:
    """Whether `path` parses as an ONNX graph with an input: a text file used to end in a protobuf DecodeError,
    an empty one (which parses as an empty model) in an IndexError, both deep inside ONNX Runtime."""
    import onnx
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - protobuf and onnx raise several kinds for a file that is no model
        return False
    return bool(model.graph.node) and bool(model.graph.input)


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("float_onnx", type=Path, help="a float32 export, e.g. from python -m detection.export")
    p.add_argument("--calibration", type=Path, nargs="+", required=True,
                   help="folders of training images (never an evaluation set), e.g. "
                        "data_cache/detector_v2/composites/images/train")
    p.add_argument("--images", type=positive(int), default=300, help="calibration images drawn from those folders")
    p.add_argument("--imgsz", type=positive(int), default=AppConfig.detector_imgsz_px,
                   help="the app's detector input size the ranges are measured at")
    p.add_argument("--chunk-images", type=positive(int), default=CALIBRATION_CHUNK_IMAGES,
                   help="images whose activations are held in memory at once (about 60 MB each at 384 px)")
    p.add_argument("--out", type=Path, required=True, help="the int8 file to write (a new path)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a file already at --out (e.g. the shipped weights/face_detector.onnx)")
    args = p.parse_args(argv)
    if not args.float_onnx.is_file():
        print(f"error: no ONNX file at {args.float_onnx}; export one with python -m detection.export", file=sys.stderr)
        return 2
    if args.out.resolve() == args.float_onnx.resolve():
        print("error: --out must differ from the float file, which stays as it is", file=sys.stderr)
        return 2
    refuse_existing(args.out, args.overwrite)
    if not is_onnx_model(args.float_onnx):
        print(f"error: {args.float_onnx} is not an ONNX model; pass the float .onnx that python -m detection.export "
              f"writes", file=sys.stderr)
        return 2
    missing = [str(f) for f in args.calibration if not f.is_dir()]
    if missing:
        print(f"error: no calibration folder at {', '.join(missing)}; pass --calibration with folders of training "
              f"images (python -m detection.train_data writes them)", file=sys.stderr)
        return 2
    if not calibration_files(args.calibration, 1):
        print(f"error: no images in {', '.join(map(str, args.calibration))}; give folders of training images",
              file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    quantize(args.float_onnx, args.out, args.calibration, args.images, args.imgsz, args.chunk_images)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
