"""The InceptionV3 age-group + gender network (Keras), shared by training, export and evaluation."""
from __future__ import annotations

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
    age = keras.layers.Dense(8, activation="softmax", name="age")(x)
    return keras.Model(inputs, {"gender": gender, "age": age}, name="inception_v3_age_gender")
