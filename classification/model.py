"""The InceptionV3 age-group + gender network (Keras), shared by training, export and evaluation."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from core.errors import WeightsError
from core.labels import NUM_AGE_GROUPS
from runtime import import_keras

DEFAULT_INPUT_SIZE_PX = 112  # smallest size whose final Inception grid is still 2x2; see model card
DEFAULT_DROPOUT = 0.3

# What the network computes in. The weights are float32 in both; "bfloat16" is Keras' mixed_bfloat16
# policy (activations and products in bfloat16, the two softmax heads in float32), for training on CPUs
# with native bfloat16 arithmetic (AVX512-BF16, AMX): on this project's 2-core EPYC one 32-face training
# step at 112 px took 460 ms against 615 ms in float32 (`python -m bench.train_step`, session 25). Every
# checkpoint loads back as float32 (`load_checkpoint`), so export, evaluation and the app never compute
# in bfloat16.
PRECISIONS = ("float32", "bfloat16")
_KERAS_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


@contextlib.contextmanager
def _global_policy(keras, name: str):
    """Keras builds every layer with its global dtype policy (keras.applications takes no dtype), so the
    policy is set for the build only and put back after it."""
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def build_model(input_size_px: int = DEFAULT_INPUT_SIZE_PX, imagenet: bool = False, dropout: float = DEFAULT_DROPOUT,
                precision: str = "float32"):
    """InceptionV3 trunk + two softmax heads, 'gender' (2) and 'age' (8); takes RGB 0-255 floats.

    `imagenet=True` starts the trunk from Keras' ImageNet weights (needs internet once); otherwise
    the trunk is randomly initialised, which is the only option on machines without a download.
    `precision`: one of PRECISIONS, what the network computes in; the heads are float32 either way.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: one of {', '.join(PRECISIONS)}")
    keras = import_keras()
    with _global_policy(keras, _KERAS_POLICY[precision]):
        inputs = keras.Input((input_size_px, input_size_px, 3), name="image")
        x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(inputs)
        trunk = keras.applications.InceptionV3(
            include_top=False, weights="imagenet" if imagenet else None,
            input_shape=(input_size_px, input_size_px, 3), pooling="avg")
        x = trunk(x)
        x = keras.layers.Dropout(dropout)(x)
        gender = keras.layers.Dense(2, activation="softmax", name="gender", dtype="float32")(x)
        age = keras.layers.Dense(NUM_AGE_GROUPS, activation="softmax", name="age", dtype="float32")(x)
        return keras.Model(inputs, {"gender": gender, "age": age}, name="inception_v3_age_gender")


def model_precision(model) -> str:
    """What `model` computes in: "float32" when every layer does, else the other type a layer computes in
    ("bfloat16" for a `--precision bfloat16` run)."""
    others = {getattr(layer, "compute_dtype", "float32") for layer in all_layers(model)} - {"float32"}
    return min(others) if others else "float32"


def with_precision(model, precision: str):
    """`model` itself when it computes in `precision` already, else the same network rebuilt to compute in
    it, with the same weights and the same layers (and nested models) frozen. WeightsError when `model`
    is not the network `build_model` builds, layer for layer: its weights could not be copied safely."""
    if model_precision(model) == precision:
        return model
    keras = import_keras()
    dropout = next((layer.rate for layer in all_layers(model) if isinstance(layer, keras.layers.Dropout)),
                   DEFAULT_DROPOUT)
    twin = build_model(int(model.inputs[0].shape[1]), dropout=dropout, precision=precision)
    sources, targets = list(all_layers(model)), list(all_layers(twin))
    if len(sources) != len(targets) or any(
            type(a) is not type(b) or [tuple(w.shape) for w in a.weights] != [tuple(w.shape) for w in b.weights]
            for a, b in zip(sources, targets)):
        raise WeightsError(f"{model.name} is not the network classification.model builds, layer for layer, so its "
                           f"weights cannot be moved to {precision}: load it with the code that saved it")
    for source, target in zip(nested_models(model), nested_models(twin)):   # outermost first: freezing one
        target.trainable = source.trainable                                 # sets all its layers, fixed below
    for source, target in zip(sources, targets):
        target.set_weights(source.get_weights())
        target.trainable = source.trainable
    return twin


def load_checkpoint(path: str | Path):
    """A `.keras` checkpoint saved by `classification.train` (Keras' safe mode: no stored code runs),
    computing in float32 whatever precision it was trained in (`PRECISIONS`).

    WeightsError, naming the file, when it is missing or not a Keras archive: Keras itself says
    "File not found" even for a file that is there but is not a zip archive."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"No checkpoint at {path}: give a .keras file that `python -m classification.train` "
                           f"saved (runs/<run>/last.keras).")
    if path.suffix != ".keras":
        raise WeightsError(f"{path} is not a .keras checkpoint: give one that `python -m classification.train` saved.")
    keras = import_keras()
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)   # refuses stored code (lambdas)
    except (ValueError, OSError, TypeError) as exc:
        raise WeightsError(f"{path} could not be loaded as a Keras checkpoint ({type(exc).__name__}): is it a "
                           f"whole file that `python -m classification.train` saved?") from None
    try:
        return with_precision(model, "float32")
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None


def nested_models(model):
    """`model` and every model nested in it (the InceptionV3 trunk), outermost first."""
    yield model
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from nested_models(layer)


def all_layers(model):
    """Every leaf layer of a Keras model, nested models (the InceptionV3 trunk) walked into."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from all_layers(layer)
        else:
            yield layer


def layers_of(model, kind) -> list:
    """The leaf layers of `model` (`all_layers`) that are `kind` instances, in order."""
    return [layer for layer in all_layers(model) if isinstance(layer, kind)]


def batchnorm_layers(model) -> list:
    return layers_of(model, import_keras().layers.BatchNormalization)


def freeze_batchnorm(model) -> None:
    """Keep every BatchNorm layer of `model` in inference mode while training: a model rebuilt from TFLite
    holds folded statistics that are exact only there (every `--init` run since stage 7)."""
    for layer in batchnorm_layers(model):
        layer.trainable = False


def save_atomically(model, path: str | Path) -> None:
    """`model.save(path)` through a temporary file, so an interrupted save leaves the previous file whole
    (or none), never a partial one."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".partial.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
