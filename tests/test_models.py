"""Loading and running the two model wrappers: tiny random models always, shipped weights when present."""
import numpy as np
import pytest

from core.errors import WeightsError
from core.geometry import iou
from tests.conftest import FIXTURES, SHIPPED_CLASSIFIER, SHIPPED_DETECTOR, needs_shipped_weights


TWO_FACE_BOXES = [(59, 80, 133, 165), (196, 77, 272, 165)]  # shipped detector on two_faces.jpg, left to right


def assert_two_fixture_faces(faces, scale=1.0):
    boxes = sorted(tuple(v / scale for v in f.box) for f in faces)
    assert len(boxes) == 2, boxes
    for got, want in zip(boxes, TWO_FACE_BOXES):
        assert iou(got, want) > 0.7, (got, want)


def sixteen_bit(image_8bit: np.ndarray) -> np.ndarray:
    return image_8bit.astype(np.uint16) * 257  # what a 16-bit PNG of the same picture holds


@needs_shipped_weights()
@pytest.mark.parametrize("form", ["bgr", "grey", "bgra", "16-bit", "16-bit grey", "float 0-1", "4K"])
def test_shipped_detector_finds_both_faces_in_any_frame_format(form):
    """Each frame format must give the same two faces as the plain 8-bit frame: a format that is mangled
    (a 16-bit frame clipped to white, a 4K frame losing faces) fails here."""
    import cv2

    from detection import FaceDetector
    bgr = cv2.imread(str(FIXTURES / "two_faces.jpg"))
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    frames = {"bgr": (bgr, 1.0), "grey": (grey, 1.0), "bgra": (cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA), 1.0),
              "16-bit": (sixteen_bit(bgr), 1.0), "16-bit grey": (sixteen_bit(grey), 1.0),
              "float 0-1": (bgr.astype(np.float32) / 255.0, 1.0),
              "4K": (cv2.resize(bgr, (3840, 2880), interpolation=cv2.INTER_CUBIC), 12.0)}
    frame, scale = frames[form]
    assert_two_fixture_faces(FaceDetector().detect(frame), scale)


def test_tiny_onnx_detector_runs_on_any_frame_format(tiny_onnx_detector_weights):
    """Random weights: checks only that every format and size goes through and boxes stay in the frame."""
    from detection import FaceDetector
    det = FaceDetector(tiny_onnx_detector_weights, confidence=0.01)
    for frame in (np.zeros((120, 160, 3), np.uint8), np.zeros((480, 640), np.uint16),
                  np.zeros((2160, 3840, 4), np.uint8)):
        for f in det.detect(frame):
            assert 0 <= f.box[0] <= f.box[2] <= frame.shape[1] and 0 <= f.box[1] <= f.box[3] <= frame.shape[0]
            assert 0 <= f.score <= 1


@pytest.mark.parametrize("content", [None, b"", b"not a model" * 500])
def test_detector_missing_or_damaged_weights(tmp_path, content):
    from detection import FaceDetector
    path = tmp_path / "det.onnx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsError, match="python -m detection.train"):
        FaceDetector(path)


class _Payload:
    """Unpickling this creates a file: stands in for the code a hostile checkpoint would run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".pkl", ".bin"])
def test_detector_refuses_pickles_before_reading_them(tmp_path, suffix):
    import pickle

    from detection import FaceDetector
    marker = tmp_path / "code_ran"
    path = tmp_path / f"hostile{suffix}"
    path.write_bytes(pickle.dumps({"model": _Payload(marker)}) * 100)
    with pytest.raises(WeightsError, match="(?i)onnx"):
        FaceDetector(path)
    assert not marker.exists()


def test_classifier_refuses_keras_checkpoints_unless_trusted(tmp_path):
    from classification import AgeGenderClassifier
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK" + b"\x00" * 4000)
    with pytest.raises(WeightsError, match="--trust-checkpoints"):
        AgeGenderClassifier(path)
    with pytest.raises(WeightsError, match="could not be loaded"):  # trusted: it is read (and is junk)
        AgeGenderClassifier(path, trust_checkpoint=True)
    with pytest.raises(WeightsError, match=r"\.tflite"):
        AgeGenderClassifier(tmp_path / "model.h5")


def test_trusted_checkpoint_still_loads(tiny_detector_weights):
    from detection import FaceDetector
    with pytest.raises(WeightsError, match="--trust-checkpoints"):
        FaceDetector(tiny_detector_weights)
    detector = FaceDetector(tiny_detector_weights, trust_checkpoint=True)
    assert detector._onnx is None and isinstance(detector.detect(np.zeros((48, 64, 3), np.uint8)), list)


def test_missing_shipped_onnx_is_an_error_not_a_pt_fallback(tmp_path, monkeypatch, tiny_detector_weights):
    import shutil

    from detection import detector
    shutil.copyfile(tiny_detector_weights, tmp_path / "face_detector.pt")  # a .pt beside it must not be used
    monkeypatch.setattr(detector, "DEFAULT_DETECTOR_WEIGHTS", tmp_path / "face_detector.onnx")
    with pytest.raises(WeightsError, match="face_detector.onnx.*git checkout"):
        detector.FaceDetector()


def test_classifier_batch_predict(tiny_classifier_weights):
    from classification import AGE_GROUPS, AgeGenderClassifier
    clf = AgeGenderClassifier(tiny_classifier_weights)
    crops = [np.zeros((50, 50, 3), np.uint8), np.full((10, 10), 200, np.uint8), np.zeros((64, 64, 4), np.uint8)]
    results = clf.predict(crops)
    assert len(results) == 3
    for r in results:
        assert r.gender in ("male", "female") and 0.5 <= r.gender_prob <= 1.0
        assert r.age_probs.shape == (8,) and abs(r.age_probs.sum() - 1) < 1e-4
        assert r.age_group in AGE_GROUPS
    assert clf.predict([]) == []
    assert len(clf.predict(crops[:1])) == 1  # batch size changes are fine
    # one crop passed bare used to give one answer per pixel row (50 here), all meaningless
    with pytest.raises(TypeError, match=r"list of crops.*predict\(\[crop\]\)"):
        clf.predict(crops[0])


def test_analyzer_api_mistakes_say_what_to_do():
    from pipeline.analyzer import FaceAnalyzer
    with pytest.raises(TypeError, match="AppConfig.*FaceAnalyzer\\(crop_scale=1.4\\)"):
        FaceAnalyzer("x")
    with pytest.raises(ValueError, match="crop_scale must be a number, not 'big'"):
        FaceAnalyzer(crop_scale="big")


@pytest.mark.parametrize("content", [None, b"", b"\x00" * 5000])
def test_classifier_missing_or_damaged_weights(tmp_path, content):
    from classification import AgeGenderClassifier
    path = tmp_path / "cls.tflite"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsError, match="python -m classification.train"):
        AgeGenderClassifier(path)


@needs_shipped_weights()
def test_shipped_models_find_and_label_the_fixture_faces():
    import cv2

    from pipeline.analyzer import FaceAnalyzer
    frame = cv2.imread(str(FIXTURES / "two_faces.jpg"))
    faces = FaceAnalyzer(crop_scale=1.4).analyze(frame)
    assert_two_fixture_faces(faces)
    for face in faces:
        assert face.gender in ("male", "female") and face.age_group is not None
        assert face.track_id is None


@needs_shipped_weights()
def test_shipped_classifier_averages_each_crop_with_its_mirror():
    """A face and its mirror image are the same person: with mirror averaging (the default) they get the
    same probabilities; without it the network answers them differently, which is what the average smooths."""
    import cv2

    from classification import AgeGenderClassifier
    from core.crop import square_crop
    frame = cv2.imread(str(FIXTURES / "two_faces.jpg"))
    crops = [square_crop(frame, box, 1.2, 112) for box in TWO_FACE_BOXES]
    mirrored = [np.ascontiguousarray(c[:, ::-1]) for c in crops]
    averaged = AgeGenderClassifier()
    assert averaged.mirror_average
    for a, b in zip(averaged.predict(crops), averaged.predict(mirrored)):
        assert a.gender == b.gender and abs(a.gender_prob - b.gender_prob) < 1e-4
        np.testing.assert_allclose(a.age_probs, b.age_probs, atol=1e-4)
    single = AgeGenderClassifier(mirror_average=False)
    plain, flipped = single.predict(crops), single.predict(mirrored)
    assert max(float(np.abs(a.age_probs - b.age_probs).max()) for a, b in zip(plain, flipped)) > 1e-3
    for avg, a, b in zip(averaged.predict(crops), plain, flipped):
        np.testing.assert_allclose(avg.age_probs, (a.age_probs + b.age_probs) / 2, atol=1e-4)


@needs_shipped_weights()
def test_public_api_defaults_load_shipped_weights():
    from classification import AgeGenderClassifier
    from detection import FaceDetector
    assert FaceDetector().weights == SHIPPED_DETECTOR
    assert AgeGenderClassifier().weights == SHIPPED_CLASSIFIER


@pytest.mark.parametrize("frozen", [False, True])
def test_batchnorm_recalibration_stores_the_average_batch_statistics(frozen):
    """Frozen too (every --init run's BatchNorm is): Keras runs a frozen one in inference mode, so it used to
    keep its statistics."""
    import runtime
    from classification.export import recalibrate_batchnorm
    tf = runtime.import_tensorflow()
    keras = tf.keras
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.BatchNormalization(momentum=0.99)(inputs))
    bn = model.layers[-1]
    bn.trainable = not frozen
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=k, size=(16, 4)).astype("float32") for k in range(3)]
    assert recalibrate_batchnorm(model, iter(batches)) == 3
    expected = np.mean([b.mean(axis=0) for b in batches], axis=0)
    np.testing.assert_allclose(np.asarray(bn.moving_mean), expected, rtol=1e-5, atol=1e-5)
    assert bn.momentum == 0.99 and bn.trainable is not frozen  # restored


@pytest.mark.parametrize("onnx_fixture", ["tiny_onnx_detector_weights", "tiny_static_onnx_detector_weights"])
def test_onnx_path_matches_ultralytics_on_the_same_file(onnx_fixture, request):
    """The lean ONNX Runtime path must give ultralytics' own boxes: same letterbox (rectangular for a
    dynamic file, square for a static one), decode and NMS."""
    import cv2
    import runtime
    from detection import FaceDetector
    runtime.import_ultralytics()
    from ultralytics import YOLO
    weights = request.getfixturevalue(onnx_fixture)
    frame = cv2.imread(str(FIXTURES / "two_faces.jpg"))
    ours = FaceDetector(weights, confidence=0.001, max_faces=20).detect(frame)
    ref = YOLO(str(weights), task="detect").predict(
        frame, imgsz=320, conf=0.001, iou=0.5, max_det=20, verbose=False, device="cpu", agnostic_nms=True)[0].boxes
    assert len(ours) == len(ref)
    if len(ours):
        got = np.array(sorted(f.box for f in ours))
        want = np.array(sorted(map(tuple, ref.xyxy.numpy())))
        np.testing.assert_allclose(got, want, atol=1.0)


def test_dynamic_onnx_runs_frames_as_stride_multiple_rectangles(tiny_onnx_detector_weights):
    """A 4:3 frame at 320 should cost a 320x256 input, 16:9 a 320x192 one, portrait the transpose."""
    from detection.onnx_yolo import OnnxYolo
    yolo = OnnxYolo(tiny_onnx_detector_weights, imgsz_px=320, threads=1)
    assert yolo.input_hw(480, 640) == (256, 320)
    assert yolo.input_hw(720, 1280) == (192, 320)
    assert yolo.input_hw(1280, 720) == (320, 192)
    assert yolo.input_hw(7, 5000) == (32, 320)
    boxes, scores = yolo.predict(np.zeros((7, 5000, 3), np.uint8), 0.001, 0.5, 10)
    assert boxes.shape[1:] == (4,) and len(boxes) == len(scores)


def test_detector_export_ships_a_stripped_pt_and_a_loadable_onnx(tiny_detector_weights, tmp_path):
    from detection import FaceDetector
    from detection.export import main as export_main
    assert export_main([str(tiny_detector_weights), "--trust-checkpoints", "--out-dir", str(tmp_path),
                        "--name", "det"]) == 0
    assert (tmp_path / "det.pt").is_file()
    detector = FaceDetector(tmp_path / "det.onnx")
    assert detector._onnx.fixed_hw is None  # dynamic: frames run as rectangles
    assert export_main([str(tmp_path / "missing.pt"), "--out-dir", str(tmp_path)]) == 2


def test_export_averages_checkpoint_weights(tmp_path):
    import runtime
    from classification.export import load_averaged
    tf = runtime.import_tensorflow()
    keras = tf.keras
    paths = []
    for k in range(3):
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(2, name="d")(inputs))
        model.set_weights([np.full((4, 2), float(k), np.float32), np.full((2,), 10.0 * k, np.float32)])
        paths.append(tmp_path / f"m{k}.keras")
        model.save(paths[-1])
    kernel, bias = load_averaged(paths).get_weights()
    np.testing.assert_allclose(kernel, 1.0)
    np.testing.assert_allclose(bias, 10.0)
    inputs = keras.Input((3,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match="different architecture"):
        load_averaged([paths[0], tmp_path / "other.keras"])


def fifty_face_grid() -> np.ndarray:
    """1920x960, 10 x 5 cells of 192 px, each holding one of the fixture's two faces at 160 px."""
    import cv2
    bgr = cv2.imread(str(FIXTURES / "two_faces.jpg"))
    heads = [bgr[62:182, 36:156], bgr[61:181, 174:294]]  # 120 px squares around the two faces
    grid = np.full((960, 1920, 3), 100, np.uint8)
    for k in range(50):
        row, col = divmod(k, 10)
        grid[row * 192 + 16:row * 192 + 176, col * 192 + 16:col * 192 + 176] = cv2.resize(heads[(k + row) % 2], (160, 160))
    return grid


@needs_shipped_weights()
def test_shipped_detector_finds_a_crowd_of_fifty_faces():
    """The whole 1920x960 frame alone gave 30 of 50 (25-33 at input sizes 320-1920) until issue 19 fixed the
    ONNX path's NMS cap; with tiles, and now without, all of them."""
    from detection import FaceDetector
    faces = FaceDetector().detect(fifty_face_grid())
    cells = {(int((f.box[1] + f.box[3]) / 2 // 192), int((f.box[0] + f.box[2]) / 2 // 192)) for f in faces}
    assert len(faces) >= 48 and len(cells) == len(faces)  # each found face is a different person: no doubles


def test_only_large_frames_pay_for_tiles(tiny_onnx_detector_weights):
    from detection import FaceDetector
    detector = FaceDetector(tiny_onnx_detector_weights)
    calls = []
    predict = detector._predict
    detector._predict = lambda frame: calls.append(frame.shape[:2]) or predict(frame)
    detector.detect(np.zeros((480, 640, 3), np.uint8))
    detector.detect(np.zeros((720, 1280, 3), np.uint8))
    assert calls == [(480, 640), (720, 1280)]  # webcam sizes: one pass, as before
    calls.clear()
    detector.detect(np.zeros((960, 1920, 3), np.uint8))
    assert calls == [(960, 1920), (960, 960), (960, 960), (960, 960)]  # whole frame + 3 overlapping tiles


def test_tiles_do_not_box_one_face_twice(tiny_onnx_detector_weights):
    """The whole frame and a tile boxed one face as (1326,658,1353,692) and (1321,659,1359,715) in the
    1080p street clip of bench.real_clips: IoU 0.43, under NMS's 0.5, so both were kept and became two tracks."""
    from detection import FaceDetector
    detector = FaceDetector(tiny_onnx_detector_weights)
    whole = (np.array([[1326, 658, 1353, 692], [100, 100, 160, 170]], np.float32), np.array([0.5, 0.9], np.float32))
    tile = (np.array([[1321 - 840, 659, 1359 - 840, 715], [300, 100, 340, 150]], np.float32), np.array([0.5, 0.8], np.float32))
    empty = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    replies = iter([whole, empty, empty, tile])  # the whole frame, then tiles at x = 0, 420, 840
    detector._predict = lambda frame: next(replies)
    boxes = sorted(f.box for f in detector.detect(np.zeros((1080, 1920, 3), np.uint8)))
    # one box for the doubly boxed face; the other two faces stay
    assert len(boxes) == 3 and sum(abs(b[0] - 1324) < 5 for b in boxes) == 1


def test_litert_notice_is_dropped_and_other_native_stderr_kept(capfd):
    """LiteRT's 'Created TensorFlow Lite XNNPACK delegate' line used to open every headless run's stderr."""
    import os

    from classification.classifier import LITERT_NOTICE, _without_native_notice
    with _without_native_notice():
        os.write(2, LITERT_NOTICE + b"\n")
        os.write(2, b"ERROR: something real\n")
    err = capfd.readouterr().err
    assert "XNNPACK" not in err and "ERROR: something real" in err


def test_a_checkpoint_on_an_install_without_torch_says_what_to_install(tmp_path, monkeypatch):
    """The app's own install leaves torch out: a trusted .pt detector used to fail with "could not be loaded
    (No module named 'torch'): restore the file", though the file was fine."""
    from detection import FaceDetector, detector

    def no_torch():
        raise ModuleNotFoundError("No module named 'torch'", name="torch")
    monkeypatch.setattr(detector, "import_ultralytics", no_torch)
    path = tmp_path / "face.pt"
    path.write_bytes(b"\x80" * 4000)
    with pytest.raises(WeightsError, match=r"face.pt needs the Python package 'torch'.*pip install -r "
                                           r"requirements.txt.*python -m detection.export"):
        FaceDetector(path, trust_checkpoint=True)
