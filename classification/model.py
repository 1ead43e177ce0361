"""The InceptionV3 age-group + gender network (Keras), shared by training, export and evaluation."""
from __future__ import annotations

import os
from pathlib import Path

from core.errors import WeightsError
from core.labels import NUM_AGE_GROUPS
from runtime import import_tensorflow

DEFAULT_INPUT_SIZE_PX = 112  # smallest size whose final Inception grid is still 2x2; see model card


def build_model(input_size_px: int = DEFAULT_INPUT_SIZE_PX, imagenet: bool = False, dropout: float = 0.3):
    """InceptionV3 trunk + two softmax heads, 'gender' (2) and 'age' (8); takes RGB 0-255 floats.

    `imagenet=True` starts the trunk from Keras' ImageNet weights (needs internet once); otherwise
    the trunk is randomly initialised, which is the only option on machines without a download.
    """
    tf = import_tensorflow()
    keras = tf.keras
    inputs = keras.Input((input_size_px, input_size_px, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(inputs)
    trunk = keras.applications.InceptionV3(
        include_top=False, weights="imagenet" if imagenet else None,
        input_shape=(input_size_px, input_size_px, 3), pooling="avg")
    x = trunk(x)
    x = keras.layers.Dropout(dropout)(x)
    gender = keras.layers.Dense(2, activation="softmax", name="gender")(x)
    age = keras.layers.Dense(NUM_AGE_GROUPS, activation="softmax", name="age")(x)
    return keras.Model(inputs, {"gender": gender, "age": age}, name="inception_v3_age_gender")


def load_checkpoint(path: str | Path):
    """A `.keras` checkpoint saved by `classification.train` (Keras' safe mode: no stored code runs).

    WeightsError, naming the file, when it is missing or not a Keras archive: Keras itself says
    "File not found" even for a file that is there but is not a zip archive."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"No checkpoint at {path}: give a .keras file that `python -m classification.train` "
                           f"saved (runs/<run>/last.keras).")
    if path.suffix != ".keras":
        raise WeightsError(f"{path} is not a .keras checkpoint: give one that `python -m classification.train` saved.")
    tf = import_tensorflow()
    try:
        return tf.keras.models.load_model(path, compile=False, safe_mode=True)   # refuses stored code (lambdas)
    except (ValueError, OSError, TypeError) as exc:
        raise WeightsError(f"{path} could not be loaded as a Keras checkpoint ({type(exc).__name__}): is it a "
                           f"whole file that `python -m classification.train` saved?") from None


def all_layers(model):
    """Every leaf layer of a Keras model, nested models (the InceptionV3 trunk) walked into."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from all_layers(layer)
        else:
            yield layer


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
