"""Training-side tools of the classifier: the app-like face box, the TFLite rebuild, the held-out metrics."""
import numpy as np
import pytest

from facedata.datasets import FaceSample
from core.labels import age_to_soft, range_to_soft
from tests.conftest import FakeDetector


def _sample(**kw):
    base = dict(path="x.jpg", box=None, face_fraction=0.5, age_soft=age_to_soft(30), gender=0, source="utkface",
                age_years=30.0, subject="x")
    base.update(kw)
    return FaceSample(**base)


def test_face_box_takes_the_detection_that_overlaps_the_labelled_face():
    from classification.cache import face_box
    image = np.zeros((200, 200, 3), np.uint8)  # expected box: the central 100 px
    detector = FakeDetector([[(0, 0, 30, 30), (45, 40, 155, 165)]])
    box, found = face_box(_sample(), image, detector)
    assert found and box == (45.0, 40.0, 155.0, 165.0)


def test_face_box_falls_back_to_the_dataset_box_and_says_so():
    from classification.cache import face_box
    image = np.zeros((200, 200, 3), np.uint8)
    box, found = face_box(_sample(), image, FakeDetector([[(0, 0, 40, 40)]]))  # a face, but not this one
    assert not found and box == (50.0, 50.0, 150.0, 150.0)
    box, found = face_box(_sample(box=(10, 20, 60, 80)), image, FakeDetector([[]]))
    assert not found and box == (10, 20, 60, 80)


def test_source_metrics_exact_ages_children_and_gender_by_group():
    from classification.evaluate import source_metrics
    samples = [_sample(age_soft=age_to_soft(a), age_years=float(a), gender=g)
               for a, g in ((1, 0), (5, 1), (10, 0), (28, 1), (22, 0))]
    probs = np.eye(8)[[0, 2, 2, 4, 4]]  # right, one off, right, right, gap age 22 -> nearest 15-20 or 25-32
    m = source_metrics(samples, np.array([0, 0, 0, 1, 0]), probs)
    assert m["in_group_faces"] == 4 and m["exact_acc"] == pytest.approx(0.75) and m["one_off_acc"] == 1.0
    assert m["children_faces"] == 3 and m["children_exact_acc"] == pytest.approx(2 / 3)
    assert m["gender_acc"] == pytest.approx(0.8) and m["gender_acc_by_age_group"]["4-6"] == 0.0


def test_face_outcomes_count_only_the_faces_each_figure_is_of():
    from classification.evaluate import face_outcomes
    samples = [_sample(age_soft=age_to_soft(a), age_years=float(a), gender=g)
               for a, g in ((1, 0), (22, -1), (28, 1))]
    out = face_outcomes(samples, np.array([0, 0, 0]), np.eye(8)[[1, 4, 4]])
    np.testing.assert_array_equal(out["gender_acc"], [1.0, np.nan, 0.0])  # unknown gender: not counted
    np.testing.assert_array_equal(out["exact_acc"], [0.0, np.nan, 1.0])   # 22 lies between groups
    np.testing.assert_array_equal(out["one_off_acc"], [1.0, np.nan, 1.0])
    np.testing.assert_array_equal(out["children_exact_acc"], [0.0, np.nan, np.nan])


def test_source_metrics_age_ranges():
    from classification.evaluate import source_metrics, within_one_of_range
    assert within_one_of_range(5, (20, 29)) and not within_one_of_range(6, (20, 29))
    samples = [_sample(source="fairface", age_years=float("nan"), age_soft=range_to_soft(20, 29),
                       age_range_years=(20, 29), gender=-1)] * 2
    m = source_metrics(samples, np.array([0, 1]), np.eye(8)[[4, 6]])
    assert m["age_group_overlaps_annotated_range"] == 0.5 and m["one_off_acc"] == 0.5
    assert m["gender_acc"] is None  # unknown genders are not counted either way


@pytest.mark.timeout(900)
def test_tflite_rebuilds_into_a_keras_model_that_computes_the_same(tmp_path):
    """A classifier exported to TFLite comes back as a Keras model with the same outputs, even though the
    converter folded BatchNorm and the input rescaling into the convolutions; its BatchNorms are set so
    that training can continue from it. A float export is compared exactly; the shipped kind (int8
    weights) must dequantize to the same weights within one quantization step."""
    import runtime
    from classification.export import recalibrate_batchnorm, to_tflite
    from classification.from_tflite import _conv_and_dense_ops, _interpreter, keras_from_tflite
    from classification.model import build_model
    tf = runtime.import_tensorflow()
    model = build_model(75)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (48, 75, 75, 3)).astype(np.float32)
    recalibrate_batchnorm(model, (images[k:k + 16] for k in range(0, 48, 16)))  # real, non-trivial statistics
    float_file = to_tflite(model, tmp_path / "float.tflite", "none")
    rebuilt = keras_from_tflite(float_file, images[:32])
    got, want = rebuilt.predict_on_batch(images[32:]), model.predict_on_batch(images[32:])
    assert np.ptp(want["age"]) > 0.05  # outputs that differ between images, so the comparison means something
    np.testing.assert_allclose(got["age"], want["age"], atol=2e-3)
    np.testing.assert_allclose(got["gender"], want["gender"], atol=2e-3)
    bn = next(layer for layer in rebuilt.get_layer(index=2).layers if isinstance(layer, tf.keras.layers.BatchNormalization))
    assert np.abs(np.asarray(bn.moving_mean)).max() > 0  # the measured mean moved into the statistics
    int8_ops = _conv_and_dense_ops(_interpreter(to_tflite(model, tmp_path / "int8.tflite", "dynamic")))
    float_ops = _conv_and_dense_ops(_interpreter(float_file))
    assert [op for op, *_ in int8_ops] == [op for op, *_ in float_ops]
    for (_, w8, b8), (_, wf, bf) in zip(int8_ops, float_ops):
        step = np.abs(wf).reshape(len(wf), -1).max(axis=1) / 127.0  # per output channel
        assert np.all(np.abs(w8 - wf).reshape(len(wf), -1).max(axis=1) <= step * 0.51 + 1e-7)
        np.testing.assert_allclose(b8, bf, rtol=1e-5, atol=1e-6)


def test_a_bfloat16_network_trains_float32_weights_and_every_checkpoint_loads_back_as_float32(tmp_path):
    """Training in bfloat16 (`--precision bfloat16`) must not leak into export, evaluation or the app: the
    weights stay float32, a checkpoint saved from it loads as a float32 network with the same weights and
    the same frozen layers, and computes what the bfloat16 network computes, to bfloat16's precision."""
    import runtime
    from classification.model import all_layers, build_model, load_checkpoint, model_precision, nested_models, \
        save_atomically, with_precision
    tf = runtime.import_tensorflow()
    keras = tf.keras
    mixed = build_model(75, precision="bfloat16")
    assert keras.mixed_precision.global_policy().name == "float32"   # the policy was set for the build only
    assert model_precision(mixed) == "bfloat16"
    assert all(w.dtype == np.float32 for w in mixed.get_weights())
    assert mixed.get_layer("age").compute_dtype == "float32" == mixed.get_layer("gender").compute_dtype
    rng = np.random.default_rng(1)   # weights unlike a fresh build's, BatchNorm statistics included
    mixed.set_weights([w + rng.normal(0, 0.01, w.shape).astype(np.float32) for w in mixed.get_weights()])
    frozen = [layer for layer in all_layers(mixed) if isinstance(layer, keras.layers.BatchNormalization)][:3]
    for layer in frozen:
        layer.trainable = False
    save_atomically(mixed, tmp_path / "last.keras")

    loaded = load_checkpoint(tmp_path / "last.keras")
    assert model_precision(loaded) == "float32"
    for got, want in zip(loaded.get_weights(), mixed.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert [layer.trainable for layer in all_layers(loaded)] == [layer.trainable for layer in all_layers(mixed)]
    assert sum(not layer.trainable for layer in all_layers(loaded)) == len(frozen)
    images = np.random.default_rng(0).uniform(0, 255, (8, 75, 75, 3)).astype(np.float32)
    got, want = loaded.predict_on_batch(images)["age"], mixed.predict_on_batch(images)["age"]
    np.testing.assert_allclose(got, want, atol=0.02)
    assert with_precision(loaded, "float32") is loaded   # nothing rebuilt where nothing changes
    again = with_precision(loaded, "bfloat16")
    assert model_precision(again) == "bfloat16"
    for got, want in zip(again.get_weights(), mixed.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="float32, bfloat16"):
        build_model(75, precision="float16")

    trunk = mixed.get_layer(index=2)   # a whole nested model frozen stays frozen, and can be thawed again
    trunk.trainable = False
    save_atomically(mixed, tmp_path / "frozen.keras")
    loaded = load_checkpoint(tmp_path / "frozen.keras")
    assert [m.trainable for m in nested_models(loaded)] == [True, False]
    assert len(loaded.trainable_weights) == len(mixed.trainable_weights) == 4   # the two heads
    loaded.get_layer(index=2).trainable = True
    trunk.trainable = True
    assert len(loaded.trainable_weights) == len(mixed.trainable_weights) > 100


def _fake_face_cache(folder, faces: int = 24, size_px: int = 48):
    """A face cache as `classification.cache` writes it, of random squares: enough to run the training tool."""
    import json
    rng = np.random.default_rng(0)
    folder.mkdir()
    np.save(folder / "images.npy", rng.integers(0, 255, (faces, size_px, size_px, 3), dtype=np.uint8))
    ages = rng.integers(1, 80, faces)
    np.savez(folder / "labels.npz", keep=np.ones(faces, bool), box_found=np.ones(faces, bool),
             box=np.zeros((faces, 4), np.float32), age_soft=np.stack([age_to_soft(a) for a in ages]),
             gender=rng.integers(0, 2, faces).astype(np.int8), age_years=ages.astype(np.float32),
             age_range=np.full((faces, 2), -1, np.int16), source=(np.arange(faces) % 3).astype(np.int8),
             split=np.array(["val" if i % 4 == 0 else "train" for i in range(faces)]),
             path=np.array([f"face{i}.jpg" for i in range(faces)]))
    (folder / "meta.json").write_text(json.dumps({"scale": 2.0, "size_px": size_px}))
    return folder


def test_a_bfloat16_run_keeps_float32_checkpoints_and_resumes_in_float32(tmp_path, capsys):
    from classification import train
    from classification.model import load_checkpoint, model_precision
    run = tmp_path / "run"
    common = ["--cache", str(_fake_face_cache(tmp_path / "cache")), "--run-dir", str(run), "--input-size", "75",
              "--epochs", "3", "--steps-per-epoch", "1", "--batch", "4"]   # no --threads: TensorFlow is up already
    assert train.main(common + ["--precision", "bfloat16", "--stop-after-epochs", "1"]) == 0
    assert "computing in bfloat16" in capsys.readouterr().out
    assert train.epochs_logged(run) == 1 and (run / "backup").is_dir()
    assert model_precision(load_checkpoint(run / "last.keras")) == "float32"
    assert train.main(common + ["--precision", "float32"]) == 0   # the backup's variables are float32 either way
    assert "computing in float32" in capsys.readouterr().out
    assert train.epochs_logged(run) == 3 and not (run / "backup").exists()


def test_a_network_of_another_shape_is_refused_not_copied_into_the_wrong_layers(tmp_path):
    import runtime
    from classification.model import load_checkpoint, save_atomically
    from core.errors import WeightsError
    keras = runtime.import_tensorflow().keras
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        inputs = keras.Input((75, 75, 3))
        other = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(inputs)))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    save_atomically(other, tmp_path / "other.keras")
    with pytest.raises(WeightsError, match="other.keras.*not the network"):
        load_checkpoint(tmp_path / "other.keras")


@pytest.mark.timeout(300)
def test_a_tflite_file_that_is_not_this_projects_classifier_is_refused_with_what_to_start_from(tmp_path):
    import runtime
    from classification.export import to_tflite
    from classification.from_tflite import keras_from_tflite
    from core.errors import WeightsError
    tf = runtime.import_tensorflow()
    inputs = tf.keras.Input((75, 75, 3))
    other = tf.keras.Model(inputs, tf.keras.layers.Dense(2)(tf.keras.layers.GlobalAveragePooling2D()(inputs)))
    path = to_tflite(other, tmp_path / "other.tflite", "none")
    with pytest.raises(WeightsError, match="weights/age_gender.tflite"):
        keras_from_tflite(path, np.zeros((4, 75, 75, 3), np.float32))


def test_about_box_reads_the_per_source_metrics_at_the_default_slider():
    from gui.about import _classifier_line
    metrics = {"default_crop_scale": 1.4, "gender_acc": 0.9, "one_off_acc": 0.95, "children_exact_acc": 0.7,
               "ms_per_face": 6.9, "by_scale": {"1.4": {"utkface": {"gender_acc": 0.92}, "aaf": {"gender_acc": 0.88},
                                                         "overall": {"gender_acc": 0.9}}}}
    line = _classifier_line(metrics)
    assert "gender 90.0% (UTKFace 92.0%, All-Age-Faces 88.0%)" in line and "children's age group exact 70.0%" in line
    assert _classifier_line({}) == "not evaluated yet"


def test_cache_crop_cuts_what_square_crop_cuts_from_the_original():
    from classification.cache import cache_crop
    from core.crop import square_crop
    yy, xx = np.mgrid[0:300, 0:400]
    image = np.dstack([(xx * 0.6) % 255, (yy * 0.8) % 255, (xx + yy) * 0.3 % 255]).astype(np.uint8)  # smooth ramps
    box = (150.0, 100.0, 230.0, 190.0)
    cached_rgb = square_crop(image, box, 2.0, 224)[:, :, ::-1]          # as classification.cache stores it
    assert cache_crop(cached_rgb, 2.0, 2.0, 112).shape == (112, 112, 3)
    for scale in (1.0, 1.4):
        want = square_crop(image, box, scale, 112).astype(int)
        got = cache_crop(cached_rgb, 2.0, scale, 112).astype(int)
        assert np.abs(got - want).mean() < 3.0                          # BGR again, same framing


def test_predict_at_scales_from_the_cache_drops_faces_it_lacks():
    from types import SimpleNamespace

    from classification.evaluate import CacheCrops, predict_at_scales
    from core.protocols import AgeGender
    seen = []

    class Stub:
        input_size_px = 32

        def predict(self, crops):
            seen.extend(c.shape for c in crops)
            return [AgeGender(gender="female", gender_prob=0.9, age_probs=np.eye(8)[4])
                    for _ in crops]

    faces = [(SimpleNamespace(path="a.jpg"), (0, 0, 1, 1), True), (SimpleNamespace(path="missing.jpg"), None, False)]
    crops = CacheCrops(np.zeros((1, 64, 64, 3), np.uint8), {"a.jpg": 0}, 2.0)
    kept, predictions = predict_at_scales(Stub(), faces, (1.0, 2.0), crops=crops)
    assert [s.path for s, _ in kept] == ["a.jpg"] and seen == [(32, 32, 3)] * 2
    assert predictions[1.0][0].tolist() == [1] and predictions[2.0][1].shape == (1, 8)


def test_cached_boxes_come_from_a_caches_labels_and_none_without_a_cache(tmp_path):
    from classification.cache import load_labels
    from classification.evaluate import cached_boxes
    assert load_labels(tmp_path / "no_cache") == {} and cached_boxes({}) == {}
    np.savez(tmp_path / "labels.npz", path=np.array(["a.jpg", "b.jpg"]), box=np.array([[1, 2, 3, 4], [5, 6, 7, 8]]),
             box_found=np.array([True, False]), keep=np.array([True, False]))
    assert cached_boxes(load_labels(tmp_path)) == {"a.jpg": ((1.0, 2.0, 3.0, 4.0), True)}   # dropped rows left out


def test_held_out_faces_take_the_asked_split_only_and_never_a_training_face():
    from classification.evaluate import held_out_faces
    from facedata.datasets import FaceSample, split_name
    samples = [FaceSample(f"{i}.jpg", (0, 0, 1, 1), 0.5, np.eye(8)[0], 0, "utkface", subject=f"{i}.jpg")
               for i in range(400)]
    boxes = {s.path: (s.box, True) for s in samples}
    by_split = {split: [s for s, _, _ in held_out_faces(samples, boxes, split=split)] for split in ("test", "val")}
    for split, faces in by_split.items():
        assert faces and all(split_name(s) == split for s in faces)
    assert not {s.path for s in by_split["test"]} & {s.path for s in by_split["val"]}
    assert [s.path for s in by_split["test"]] == [s.path for s, _, _ in held_out_faces(samples, boxes)]  # test by default


@pytest.mark.timeout(300)
def test_weight_average_is_the_mean_of_the_epochs_from_its_start_and_resumes_without_double_counting(tmp_path):
    import runtime
    from classification.train import WeightAverage
    tf = runtime.import_tensorflow()
    keras = tf.keras
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append([w.copy() for w in self.model.get_weights()])

    x, y = np.random.default_rng(0).normal(size=(32, 4)), np.random.default_rng(1).normal(size=(32, 3))
    path = tmp_path / "average.keras"
    model.fit(x, y, epochs=3, verbose=0, callbacks=[Record(), WeightAverage(keras, path, from_epoch=2)])
    want = [(a + b) / 2 for a, b in zip(seen[1], seen[2])]
    got = keras.models.load_model(path, compile=False).get_weights()
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    for w, s in zip(model.get_weights(), seen[2]):
        np.testing.assert_array_equal(w, s)  # the model trains on from its own weights, not the mean
    assert not np.allclose(seen[1][0], seen[2][0])  # the epochs differ, so the mean is not trivially either

    resumed = WeightAverage(keras, path, from_epoch=2)  # a resumed run repeating epoch 3, then its epoch 4
    resumed.set_model(model)
    resumed.on_train_begin()
    resumed.on_epoch_end(2)
    model.set_weights([w + 1.0 for w in seen[2]])
    resumed.on_epoch_end(3)
    got = keras.models.load_model(path, compile=False).get_weights()
    for g, a, b in zip(got, seen[1], seen[2]):
        np.testing.assert_allclose(g, (a + b + b + 1.0) / 3, rtol=1e-5, atol=1e-6)


def _history(run_dir, rows):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "history.csv").write_text("epoch,val_age_acc\n" + "".join(f"{e},{v}\n" for e, v in rows))


def test_a_finished_run_is_never_trained_again_from_scratch(tmp_path):
    from classification.train import check_run_dir, epochs_logged
    run = tmp_path / "run"
    check_run_dir(run, 4, None)                      # a new run folder: go
    _history(run, [(0, 0.5), (1, 0.6), (1, 0.6)])    # a resumed epoch is logged twice
    (run / "backup").mkdir()
    assert epochs_logged(run) == 2
    check_run_dir(run, 4, None)                      # half done, with its backup: resume
    _history(run, [(0, 0.5), (1, 0.6), (2, 0.62), (3, 0.61)])
    with pytest.raises(FileExistsError, match=r"already has 4 epochs logged.*--init .*last.keras --run-dir .*run_next"):
        check_run_dir(run, 4, None)
    (run / "backup").rmdir()                         # epochs logged, nothing to resume from (older runs)
    with pytest.raises(FileExistsError, match="no backup/ to resume from"):
        check_run_dir(run, 8, None)
    soup = tmp_path / "soup"                         # checkpoints without any history (a weight soup's folder)
    soup.mkdir()
    (soup / "last.keras").write_bytes(b"k")
    with pytest.raises(FileExistsError, match="holds trained checkpoints"):
        check_run_dir(soup, 4, None)


def test_a_rebuilt_init_from_another_tflite_is_refused(tmp_path):
    import json

    from classification.train import check_run_dir
    run = tmp_path / "run"
    run.mkdir()
    (run / "init.keras").write_bytes(b"k")
    (run / "init.json").write_text(json.dumps({"init": str((tmp_path / "a.tflite").resolve())}))
    check_run_dir(run, 4, str(tmp_path / "a.tflite"))
    with pytest.raises(FileExistsError, match="was rebuilt from .*a.tflite, not from --init .*b.tflite"):
        check_run_dir(run, 4, str(tmp_path / "b.tflite"))
    (run / "init.json").unlink()                     # rebuilt before origins were recorded: unknown
    with pytest.raises(FileExistsError, match="rebuilt from an unrecorded file"):
        check_run_dir(run, 4, str(tmp_path / "a.tflite"))


def test_checkpoints_are_atomic_and_best_remembers_the_epochs_before_a_resume(tmp_path):
    from classification.train import Checkpoints, best_logged

    class FakeKeras:
        class callbacks:
            class Callback:
                def set_model(self, model):
                    self.model = model

    class FakeModel:
        def __init__(self):
            self.saved, self.fail = [], False

        def save(self, path):
            if self.fail:
                path.write_bytes(b"half")
                raise KeyboardInterrupt   # killed mid-save
            path.write_bytes(b"model")
            self.saved.append(path.name)

    _history(tmp_path, [(0, 0.5), (1, 0.7)])
    assert best_logged(tmp_path / "history.csv", "val_age_acc") == 0.7
    model, cb = FakeModel(), Checkpoints(FakeKeras, tmp_path, "val_age_acc")
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(2, {"val_age_acc": 0.6})   # a resumed run's first epoch: not better than epoch 1
    assert (tmp_path / "last.keras").read_bytes() == b"model" and not (tmp_path / "best.keras").exists()
    cb.on_epoch_end(3, {"val_age_acc": 0.8})
    assert (tmp_path / "best.keras").is_file()
    model.fail = True
    with pytest.raises(KeyboardInterrupt):
        cb.on_epoch_end(4, {"val_age_acc": 0.9})
    assert (tmp_path / "last.keras").read_bytes() == b"model"   # the previous epoch's file, whole


def test_export_keeps_a_file_already_at_its_output(tmp_path, capsys):
    """The default --out is the shipped classifier: a candidate export must not replace it unasked."""
    from classification import export
    checkpoint, shipped = tmp_path / "last.keras", tmp_path / "age_gender.tflite"
    checkpoint.write_bytes(b"not read")
    shipped.write_bytes(b"shipped")
    assert export.main([str(checkpoint), "--out", str(shipped)]) == 2
    assert shipped.read_bytes() == b"shipped"
    assert "already there and kept" in capsys.readouterr().err


def test_sampling_order_is_a_permutation_without_weights_and_favours_a_weighted_source():
    from classification.train import sampling_order
    sources = np.array(["utkface"] * 600 + ["fairface"] * 300 + ["aaf"] * 100)
    order = sampling_order(np.random.default_rng(0), sources, {})
    assert sorted(order.tolist()) == list(range(1000))
    drawn = sources[sampling_order(np.random.default_rng(0), sources, {"fairface": 3.0})]
    assert len(drawn) == 1000
    # fairface: 300 faces x 3 against 700 x 1 -> 900 / 1600 of the draws
    assert abs((drawn == "fairface").mean() - 900 / 1600) < 0.05
    assert abs((drawn == "aaf").mean() - 100 / 1600) < 0.03


def test_source_weights_parse_and_refuse_unknown_sources_or_non_positive_weights():
    from classification.train import parse_source_weights
    sources = ("utkface", "fairface", "aaf")
    assert parse_source_weights(["fairface=2", "aaf=1.5"], sources) == {"fairface": 2.0, "aaf": 1.5}
    for bad in (["imdb=2"], ["fairface=0"], ["fairface"], ["fairface=x"]):
        with pytest.raises(ValueError, match="SOURCE=W"):
            parse_source_weights(bad, sources)


@pytest.mark.parametrize("frozen", [True, False])
def test_export_keeps_frozen_batchnorm_statistics_unless_asked(tmp_path, capsys, frozen):
    """An --init run's BatchNorm is frozen and its weights are fitted to those statistics: measuring them
    afresh cost stage 39's average 148 points (session 28), so export keeps them by default; a model
    trained from scratch still gets them measured (here: no face cache, so the one-line error says so)."""
    from classification import export
    from classification.model import save_atomically
    from runtime import import_tensorflow
    keras = import_tensorflow().keras
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))
    model.layers[2].trainable = not frozen
    save_atomically(model, tmp_path / "last.keras")
    code = export.main([str(tmp_path / "last.keras"), "--out", str(tmp_path / "m.tflite"),
                        "--cache", str(tmp_path / "no_cache")])
    out, err = capsys.readouterr()
    if frozen:
        assert code == 0 and "BatchNorm is frozen" in out and (tmp_path / "m.tflite").is_file()
    else:
        assert code == 2 and "no face cache" in err and not (tmp_path / "m.tflite").exists()
