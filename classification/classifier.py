"""`AgeGenderClassifier`: the InceptionV3 age-group + gender model behind a batch `predict`.

The app runs the shipped TFLite file through LiteRT (no TensorFlow import: faster start, 0.5 GB less
memory); a `.keras` checkpoint also works, through TensorFlow, for evaluating training runs.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from classification.model import load_checkpoint
from core.errors import WeightsError, check_weights_file, missing_package_message, refuse_unsafe_weights
from core.images import to_bgr
from core.labels import NUM_AGE_GROUPS
from core.paths import DEFAULT_CLASSIFIER_WEIGHTS
from core.protocols import AgeGender

SAFE_SUFFIX = ".tflite"        # a flatbuffer of tensors and built-in ops: loading it runs no code from the file
CHECKPOINT_SUFFIX = ".keras"   # may hold Python layers and custom objects that run when loaded
TRAIN_HINT = "train one with `python -m classification.train` and export it with " \
             "`python -m classification.export` (see weights/age_gender.md)"


def check_classifier_suffix(path: Path, trust_checkpoint: bool) -> None:
    """Refuse, before anything is read, a file whose loading could run code, unless the user vouched for it."""
    refuse_unsafe_weights(
        path, SAFE_SUFFIX, CHECKPOINT_SUFFIX, trust_checkpoint,
        f"{path.name} is a Keras checkpoint, which can run code when loaded: convert it with "
        f"`python -m classification.export {path} --out {path.with_suffix('.tflite')}`, "
        f"or pass --trust-checkpoints if you made the file yourself.",
        f"{path.name} is not an age/gender classifier file: pass a .tflite file "
        f"(`python -m classification.export` makes one).")


# LiteRT's C++ core writes this to the process's stderr on the first allocation, on every run: a line
# that says nothing to a user and broke the "one line" of every headless run's messages.
LITERT_NOTICE = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU."


@contextlib.contextmanager
def _without_native_notice(notice: bytes = LITERT_NOTICE):
    """Run the block with file descriptor 2 sent to a temporary file, then write back every line but `notice`
    (C++ writes past Python's sys.stderr, so only the descriptor can catch it; real errors still show)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable descriptor 2 (an embedded interpreter): leave it alone
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [line for line in caught.read().splitlines(keepends=True) if line.strip() != notice]
            if kept:
                os.write(2, b"".join(kept))


class _LiteRTBackend:
    def __init__(self, path: Path, threads: int):
        from ai_edge_litert.interpreter import Interpreter
        self._interp = Interpreter(model_path=str(path), num_threads=threads)
        self._input = self._interp.get_input_details()[0]
        self.input_size_px = int(self._input["shape"][1])
        self._batch = 0
        with _without_native_notice():  # the notice comes with the first allocation
            self._resize(1)

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            self._interp.resize_tensor_input(self._input["index"], [batch, self.input_size_px, self.input_size_px, 3])
            self._interp.allocate_tensors()
            outputs = self._interp.get_output_details()
            self._gender = next(o["index"] for o in outputs if o["shape"][-1] == 2)
            self._age = next(o["index"] for o in outputs if o["shape"][-1] == NUM_AGE_GROUPS)
            self._batch = batch

    def __call__(self, batch_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._resize(len(batch_rgb))
        self._interp.set_tensor(self._input["index"], batch_rgb)
        self._interp.invoke()
        return self._interp.get_tensor(self._gender).copy(), self._interp.get_tensor(self._age).copy()


class _KerasBackend:
    def __init__(self, path: Path, threads: int):
        # Keras' safe mode (stored code such as lambda layers is refused), on top of the trust_checkpoint opt-in;
        # float32 whatever precision the run trained in
        self._model = load_checkpoint(path)
        self.input_size_px = int(self._model.inputs[0].shape[1])

    def __call__(self, batch_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self._model.predict_on_batch(batch_rgb)  # not model(x): eager calls cost ~0.4 s each
        return np.asarray(out["gender"]), np.asarray(out["age"])


class AgeGenderClassifier:
    """Gender and Adience age group of square face crops. `weights`: .tflite (a .keras only with
    `trust_checkpoint`); None = shipped.

    `mirror_average`: each crop is also classified mirrored and the two answers averaged. A face's
    gender and age do not change in a mirror, but the network's errors do, so the average is steadier
    (`python -m classification.evaluate --no-mirror` measures without it; model card) for twice the
    per-face work (live, the analyzer classifies at most `max_classifications_per_frame` faces a frame)."""

    def __init__(self, weights: str | Path | None = None, threads: int = 0, trust_checkpoint: bool = False,
                 mirror_average: bool = True):
        self.weights = Path(weights) if weights else DEFAULT_CLASSIFIER_WEIGHTS
        self.mirror_average = mirror_average
        threads = threads or os.cpu_count() or 1
        check_classifier_suffix(self.weights, trust_checkpoint)
        check_weights_file(self.weights, "age/gender classifier", TRAIN_HINT,
                           shipped=self.weights == DEFAULT_CLASSIFIER_WEIGHTS)
        backend = _KerasBackend if self.weights.suffix.lower() == CHECKPOINT_SUFFIX else _LiteRTBackend
        try:
            self._backend = backend(self.weights, threads)
        except ModuleNotFoundError as exc:   # a .keras on the app's own install, which leaves TensorFlow out
            raise WeightsError(missing_package_message(self.weights, exc, "python -m classification.export")) from exc
        except Exception as exc:  # noqa: BLE001 - any load failure means unusable weights
            raise WeightsError(f"The classifier weights at {self.weights} could not be loaded ({exc}): "
                               f"restore the file or {TRAIN_HINT}.") from exc

    @property
    def input_size_px(self) -> int:
        return self._backend.input_size_px

    def prepare(self, crops_bgr: list[np.ndarray]) -> np.ndarray:
        """Resize square BGR crops to the network's input and convert to the RGB float batch it takes."""
        size = self.input_size_px
        batch = np.empty((len(crops_bgr), size, size, 3), np.float32)
        for i, crop in enumerate(crops_bgr):
            crop = to_bgr(crop)
            if crop.shape[0] != size or crop.shape[1] != size:
                interp = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
                crop = cv2.resize(crop, (size, size), interpolation=interp)
            batch[i] = crop[:, :, ::-1]
        return batch

    def predict(self, crops_bgr: list[np.ndarray]) -> list[AgeGender]:
        """One `AgeGender` per crop, in order; an empty list gives an empty list."""
        if isinstance(crops_bgr, np.ndarray) and crops_bgr.ndim in (2, 3):  # one image: its rows are no crops
            raise TypeError(f"predict takes a list of crops; for one crop of shape {crops_bgr.shape}, "
                            f"call predict([crop])")
        if len(crops_bgr) == 0:
            return []
        batch = self.prepare(crops_bgr)
        if not self.mirror_average:
            gender, age = self._backend(batch)
        else:
            n = len(batch)
            gender, age = self._backend(np.concatenate([batch, batch[:, :, ::-1]]))
            gender, age = (gender[:n] + gender[n:]) / 2, (age[:n] + age[n:]) / 2
        return [AgeGender.from_probs(g, a) for g, a in zip(gender, age)]
