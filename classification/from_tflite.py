"""Rebuild a trainable Keras classifier from a shipped TFLite file, so training can continue from it.

Why: the project ships only `weights/age_gender.tflite`; the `.keras` checkpoints of the runs that made
it live in a git-ignored folder on a machine that is not kept. Without this, every retraining would
start from random weights again (139 epochs of 2-core CPU time in the shipped file).

How: TFLite stores each convolution with its BatchNorm folded in (`W_f = W / sqrt(var + eps)`,
`b_f = beta - mean / sqrt(var + eps)`), the first one also with the input rescaling folded in, and the
weights as int8 with one scale per output channel. The Keras graph's order of convolutions is found
by converting a freshly built model whose weights are known and matching values. Each convolution
gets `W_f` back as its kernel, and its BatchNorm is set so that it adds `b_f` in inference mode while
its moving mean is the real mean of the convolution's output on calibration faces: then the model
computes exactly what the TFLite file computes in inference mode, and nearly the same in training
mode (batch statistics), because the shipped model's BatchNorms were trained to unit variance.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from classification.model import layers_of
from core.cli import OneLineParser
from core.errors import WeightsError
from core.labels import NUM_AGE_GROUPS
from runtime import import_tensorflow

NOT_OURS_HINT = ("start from weights/age_gender.tflite, a file `python -m classification.export` wrote, or a .keras "
                 "checkpoint of classification.train")

INPUT_SCALE = 127.5  # the model's Rescaling layer: x / 127.5 - 1


def _conv_and_dense_ops(interpreter):
    """[(op_name, weight float array in TFLite layout, bias array)] for every CONV_2D / FULLY_CONNECTED op,
    in the order of `_structural_keys`, so that two conversions of one architecture line up op for op."""
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # noqa: SLF001 - the only way to read the op graph
    keys = _structural_keys(ops, tensors)
    found = []
    for op in sorted((op for op in ops if op["op_name"] in ("CONV_2D", "FULLY_CONNECTED")),
                     key=lambda op: keys[op["index"]]):
        w_info = tensors[op["inputs"][1]]
        weight = interpreter.get_tensor(w_info["index"]).astype(np.float64)
        scales = w_info["quantization_parameters"]["scales"]
        if w_info["dtype"] == np.int8 and len(scales):
            shape = [-1] + [1] * (weight.ndim - 1)
            weight = weight * np.asarray(scales, np.float64).reshape(shape)
        bias_index = op["inputs"][2] if len(op["inputs"]) > 2 else -1  # -1: the converter dropped a zero bias
        bias = interpreter.get_tensor(bias_index).astype(np.float64) if bias_index >= 0 else np.zeros(len(weight))
        found.append((op["op_name"], weight, bias))
    return found


def _structural_keys(ops, tensors) -> dict[int, str]:
    """A name-free key per op: its type and weight shape, what feeds it and what it feeds, recursively.

    The converter orders parallel branches by layer name, which differs between a training session and
    this one; the graph's shape does not. Hashing each op's inputs (forward) and its consumers with the
    input slot they read (backward) tells apart even parallel branches of equal shape.
    """
    import hashlib
    produced_by = {t: op["index"] for op in ops for t in op["outputs"]}
    consumers: dict[int, list[tuple[int, int]]] = {}
    for op in ops:
        for slot, t in enumerate(op["inputs"]):
            if t in produced_by:
                consumers.setdefault(produced_by[t], []).append((op["index"], slot))

    def own(op):  # a zero bias may be dropped by one conversion and kept by another: weights only
        weights = op["inputs"][1:2] if op["op_name"] in ("CONV_2D", "FULLY_CONNECTED") else op["inputs"]
        consts = [tuple(tensors[t]["shape"]) for t in weights if t >= 0 and t not in produced_by]
        return f"{op['op_name']}{consts}"

    by_index = {op["index"]: op for op in ops}
    forward: dict[int, str] = {}
    for op in ops:  # TFLite ops are stored in execution order: inputs come first
        parents = [forward[produced_by[t]] for t in op["inputs"] if t in produced_by]
        forward[op["index"]] = hashlib.sha1((own(op) + "|".join(parents)).encode()).hexdigest()
    backward: dict[int, str] = {}
    for op in reversed(ops):
        children = sorted(f"{backward[c]}@{slot}" for c, slot in consumers.get(op["index"], []))
        backward[op["index"]] = hashlib.sha1((own(by_index[op["index"]]) + "|".join(children)).encode()).hexdigest()
    keys = {i: forward[i] + backward[i] for i in forward}
    if len(set(keys.values())) != len(keys):
        raise WeightsError(f"the TFLite graph has ops that its structure cannot tell apart: {NOT_OURS_HINT}")
    return keys


def _interpreter(model_bytes_or_path):
    """A LiteRT interpreter over a .tflite file or its bytes; WeightsError naming the file if it is not one."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        if isinstance(model_bytes_or_path, (str, Path)):
            interp = Interpreter(model_path=str(model_bytes_or_path))
        else:
            interp = Interpreter(model_content=model_bytes_or_path)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        name = model_bytes_or_path if isinstance(model_bytes_or_path, (str, Path)) else "the model bytes"
        raise WeightsError(f"{name} is not a TFLite model LiteRT can load ({str(exc).splitlines()[0][:120]}): give a "
                           f".tflite file that `python -m classification.export` wrote.") from None
    return interp


def _batchnorm_after(model, tf):
    """{conv layer name: the BatchNormalization layer that reads its output}."""
    convs = {id(layer.output): layer for layer in layers_of(model, tf.keras.layers.Conv2D)}
    pairs = {}
    for bn in layers_of(model, tf.keras.layers.BatchNormalization):
        conv = convs.get(id(bn.input))
        if conv is not None:
            pairs[conv.name] = bn
    return pairs


def _op_order(model, tf) -> list:
    """The Keras layer (Conv2D or Dense) behind each weight op of a TFLite conversion, in op order."""
    convs = layers_of(model, tf.keras.layers.Conv2D)
    denses = layers_of(model, tf.keras.layers.Dense)
    bns = layers_of(model, tf.keras.layers.BatchNormalization)
    rng = np.random.default_rng(0)
    for layer in convs + denses:
        layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    for bn in bns:  # identity statistics: the folded weight is the kernel itself
        _set_bn(bn, np.zeros(bn.weights[0].shape), np.zeros(bn.weights[0].shape))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    reference = _conv_and_dense_ops(_interpreter(converter.convert()))
    order = []
    for op_name, weight, _ in reference:
        candidates = convs if op_name == "CONV_2D" else denses
        best, best_corr = None, 0.0
        for layer in candidates:
            kernel = layer.get_weights()[0]
            kernel = np.transpose(kernel, (3, 0, 1, 2)) if kernel.ndim == 4 else kernel.T
            if kernel.shape != weight.shape:
                continue
            corr = abs(float(np.corrcoef(kernel.ravel(), weight.ravel())[0, 1]))
            if corr > best_corr:
                best, best_corr = layer, corr
        if best is None or best_corr < 0.999:
            raise WeightsError(f"could not match the TFLite graph to this project's Keras model: {NOT_OURS_HINT}")
        ratio = float(np.sum(weight * np.transpose(best.get_weights()[0], (3, 0, 1, 2) if weight.ndim == 4 else (1, 0)))
                      / np.sum(weight * weight))
        order.append((best, ratio))
    return order


def keras_from_tflite(tflite_path: str | Path, calibration_images: np.ndarray, batch: int = 64):
    """A Keras model computing what `tflite_path` computes, with BatchNorms set for further training.

    `calibration_images`: RGB 0-255 float crops at the model's input size (a few hundred faces), used
    to measure the mean of each convolution's output.
    """
    tf = import_tensorflow()
    from classification.model import build_model
    shipped = _interpreter(tflite_path)
    input_size_px = int(shipped.get_input_details()[0]["shape"][1])
    model = build_model(input_size_px)
    order = _op_order(model, tf)
    ops = _conv_and_dense_ops(shipped)
    if len(ops) != len(order):
        raise WeightsError(f"{tflite_path} does not hold this project's InceptionV3 classifier: {NOT_OURS_HINT}")
    batchnorm_of = _batchnorm_after(model, tf)
    folded_bias = {}
    for (op_name, weight, bias), (layer, ratio) in zip(ops, order):
        if op_name == "FULLY_CONNECTED":
            layer.set_weights([weight.T.astype(np.float32), bias.astype(np.float32)])
            continue
        kernel = np.transpose(weight, (1, 2, 3, 0)) * ratio  # ratio 127.5 on the first conv, 1 elsewhere
        if abs(ratio - INPUT_SCALE) < 1.0:  # the input rescaling was folded in: b_tfl = b_f - sum(W_f)
            bias = bias + kernel.sum(axis=(0, 1, 2))
        layer.set_weights([kernel.astype(np.float32)])
        folded_bias[layer.name] = bias
    # First pass: BatchNorms as plain bias adds (mean 0, var 1 - eps), i.e. exactly the TFLite model.
    for conv_name, bn in batchnorm_of.items():
        _set_bn(bn, folded_bias[conv_name], np.zeros_like(folded_bias[conv_name]))
    # Measure each convolution's mean output on real faces, then move it into the moving mean.
    convs = [layer for layer, _ in order if layer.name in batchnorm_of]
    trunk = next(layer for layer in model.layers if hasattr(layer, "layers"))  # the nested InceptionV3
    probe = tf.keras.Model(trunk.inputs, [layer.output for layer in convs])
    sums = [np.zeros(layer.filters) for layer in convs]
    count = 0
    for start in range(0, len(calibration_images), batch):
        chunk = np.asarray(calibration_images[start:start + batch], np.float32) / INPUT_SCALE - 1.0
        outs = probe.predict_on_batch(chunk)
        for k, out in enumerate(outs):
            sums[k] += np.asarray(out, np.float64).mean(axis=(1, 2)).sum(axis=0)
        count += min(batch, len(calibration_images) - start)
    for layer, total in zip(convs, sums):
        mean = total / max(count, 1)
        _set_bn(batchnorm_of[layer.name], folded_bias[layer.name] + mean, mean)
    return model


def _set_bn(bn, beta: np.ndarray, moving_mean: np.ndarray) -> None:
    """BatchNorm without scale: inference computes (x - moving_mean) / sqrt(var + eps) + beta, var = 1 - eps."""
    values = []
    for w in bn.weights:
        name = w.path.rsplit("/", 1)[-1]
        if name == "beta":
            values.append(beta)
        elif name == "moving_mean":
            values.append(moving_mean)
        elif name == "moving_variance":
            values.append(np.full(w.shape, 1.0 - bn.epsilon))
        else:  # gamma, if the layer has one
            values.append(np.ones(w.shape))
    bn.set_weights([np.asarray(v, np.float32) for v in values])


def main(argv=None) -> int:
    """`python -m classification.from_tflite FILE.tflite --out FILE.keras`: rebuild and check against the file."""
    import sys

    from classification.cache import load_cache
    from core.paths import FACE_CACHE_DIR
    p = OneLineParser(description=main.__doc__)
    p.add_argument("tflite")
    p.add_argument("--out", required=True, help="where to save the rebuilt .keras model (must not exist)")
    p.add_argument("--cache", default=str(FACE_CACHE_DIR), help="faces for calibration")
    args = p.parse_args(argv)
    if not Path(args.tflite).is_file():
        print(f"error: no file at {args.tflite}: give the .tflite to rebuild (e.g. weights/age_gender.tflite)",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() or out.suffix != ".keras":
        print(f"error: --out {out} must be a new file ending in .keras", file=sys.stderr)
        return 2
    if not (Path(args.cache) / "labels.npz").is_file():
        print(f"error: no face cache at {args.cache}; build one with `python -m classification.cache`", file=sys.stderr)
        return 2
    tf = import_tensorflow()
    from classification.cache import cache_scale, center_crops
    images, labels = load_cache(args.cache)
    scale = cache_scale(args.cache)
    size = int(_interpreter(args.tflite).get_input_details()[0]["shape"][1])
    train = np.flatnonzero(labels["keep"] & (labels["split"] == "train"))[::97][:512]
    check = np.flatnonzero(labels["keep"] & (labels["split"] == "val"))[:256]
    model = keras_from_tflite(args.tflite, center_crops(tf, images[train], size, scale).numpy())
    model.save(out)
    faces = center_crops(tf, images[check], size, scale).numpy()
    interp = _interpreter(args.tflite)
    inp = interp.get_input_details()[0]
    outputs = interp.get_output_details()
    diffs, agree = [], []
    rebuilt = model.predict_on_batch(faces)
    for i in range(len(faces)):
        interp.set_tensor(inp["index"], faces[i:i + 1])
        interp.invoke()
        age = next(interp.get_tensor(o["index"]) for o in outputs if o["shape"][-1] == NUM_AGE_GROUPS)[0]
        diffs.append(np.abs(age - rebuilt["age"][i]).max())
        agree.append(int(np.argmax(age) == np.argmax(rebuilt["age"][i])))
    print(f"wrote {out}; on {len(faces)} validation faces the age probabilities differ from the file's by at most "
          f"{max(diffs):.4f} (median {np.median(diffs):.4f}); same age group on {np.mean(agree):.1%}")
    return 0


if __name__ == "__main__":
    from core.cli import run_tool
    raise SystemExit(run_tool(main))
