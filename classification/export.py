"""Export a trained `.keras` classifier to the compact TFLite file the app loads: `python -m classification.export`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runtime import REPO_ROOT, import_tensorflow


QUANTIZATIONS = ("dynamic", "float16", "none")


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
    out_path.write_bytes(converter.convert())
    return out_path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", nargs="?", default=str(REPO_ROOT / "runs" / "classifier" / "best.keras"))
    p.add_argument("--out", default=str(REPO_ROOT / "weights" / "age_gender.tflite"))
    p.add_argument("--quantization", choices=QUANTIZATIONS, default="dynamic",
                   help="dynamic: int8 weights, 1/4 size (default); float16: 1/2; none: float32")
    args = p.parse_args(argv)
    tf = import_tensorflow()
    if not Path(args.checkpoint).is_file():
        print(f"error: no checkpoint at {args.checkpoint}; train with `python -m classification.train`", file=sys.stderr)
        return 2
    model = tf.keras.models.load_model(args.checkpoint, compile=False)
    out = to_tflite(model, args.out, args.quantization)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
