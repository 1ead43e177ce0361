"""Export a trained `.keras` classifier to the compact TFLite file the app loads: `python -m classification.export`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runtime import REPO_ROOT, import_tensorflow


def to_tflite(model, out_path: str | Path, float16: bool = True) -> Path:
    """Convert a Keras model; float16 halves the file (the weights are expanded to float32 at load time)."""
    tf = import_tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(converter.convert())
    return out_path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", nargs="?", default=str(REPO_ROOT / "runs" / "classifier" / "best.keras"))
    p.add_argument("--out", default=str(REPO_ROOT / "weights" / "age_gender.tflite"))
    p.add_argument("--float32", action="store_true", help="keep float32 weights (twice the size)")
    args = p.parse_args(argv)
    tf = import_tensorflow()
    if not Path(args.checkpoint).is_file():
        print(f"error: no checkpoint at {args.checkpoint}; train with `python -m classification.train`", file=sys.stderr)
        return 2
    model = tf.keras.models.load_model(args.checkpoint, compile=False)
    out = to_tflite(model, args.out, float16=not args.float32)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
