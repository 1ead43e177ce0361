"""The detector's training tools: data packing for a remote GPU, and what `detection.train` hands ultralytics."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from detection import pack_data, train


def _yolo_folder(root, split, names):
    (root / "images" / split).mkdir(parents=True)
    (root / "labels" / split).mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in names:
        cv2.imwrite(str(root / "images" / split / f"{name}.jpg"), rng.integers(0, 255, (48, 64, 3), np.uint8))
        (root / "labels" / split / f"{name}.txt").write_text("0 0.5 0.5 0.25 0.5\n")


def test_pack_data_writes_webp_beside_unchanged_labels(tmp_path):
    src = tmp_path / "src"
    _yolo_folder(src / "wider", "train", ["a", "b"])
    _yolo_folder(src / "wider", "val", ["c"])
    _yolo_folder(src / "extra", "train", ["d"])
    data = src / "data.yaml"
    data.write_text(yaml.safe_dump({"train": [str(src / "wider/images/train"), str(src / "extra/images/train")],
                                    "val": str(src / "wider/images/val"), "nc": 1, "names": ["face"]}))
    out = tmp_path / "packed"
    sizes = pack_data.pack(data, out, quality=80)

    assert set(sizes) == {"train0", "train1", "val"}
    packed = yaml.safe_load((out / "data.yaml").read_text())
    assert packed["train"] == ["train0/images", "train1/images"] and packed["val"] == ["val/images"]
    image = cv2.imread(str(out / "train0" / "images" / "a.webp"))
    assert image is not None and image.shape == (48, 64, 3)
    assert (out / "train0" / "labels" / "a.txt").read_text() == "0 0.5 0.5 0.25 0.5\n"
    assert sorted(p.name for p in (out / "train1" / "images").iterdir()) == ["d.webp"]


class _FakeYOLO:
    """Records how detection.train builds and trains the model, without training anything."""
    built: list = []

    def __init__(self, source):
        self.source = source
        self.train_kwargs = None
        _FakeYOLO.built.append(self)

    def load(self, weights):  # the old path: yaml first, then weights poured in
        raise AssertionError("a checkpoint must be opened with its own architecture, not loaded into a yaml")

    def train(self, **kwargs):
        self.train_kwargs = kwargs


@pytest.fixture
def fake_yolo(monkeypatch, tmp_path):
    import ultralytics
    _FakeYOLO.built = []
    monkeypatch.setattr(ultralytics, "YOLO", _FakeYOLO, raising=False)
    monkeypatch.setattr(train, "import_ultralytics", lambda: ultralytics)
    monkeypatch.setattr(train, "RUNS_DIR", tmp_path / "runs")   # never the checkout's runs/
    data = tmp_path / "data.yaml"
    data.write_text("train: x\nval: x\nnc: 1\nnames: [face]\n")
    return data


def test_fine_tune_opens_the_checkpoint_itself(fake_yolo, tmp_path):
    """Building yolov8n.yaml (80 classes) and loading a 1-class checkpoint re-initialised its class layer."""
    ckpt = tmp_path / "start.pt"
    ckpt.write_bytes(b"x")  # opened by the fake YOLO only
    assert train.main(["--data", str(fake_yolo), "--weights", str(ckpt), "--trust-checkpoints", "--no-export",
                       "--hours", "0.1", "--no-plots"]) == 0
    (model,) = _FakeYOLO.built
    assert model.source == str(ckpt)
    assert model.train_kwargs["pretrained"] is True
    assert model.train_kwargs["time"] == pytest.approx(0.1) and model.train_kwargs["plots"] is False


def test_from_scratch_builds_the_yaml(fake_yolo):
    assert train.main(["--data", str(fake_yolo), "--no-export"]) == 0
    (model,) = _FakeYOLO.built
    assert model.source == "yolov8n.yaml"
    assert model.train_kwargs["pretrained"] is False and model.train_kwargs["time"] is None


def test_lr0_picks_adamw_at_that_rate_and_auto_stays_the_default(fake_yolo, tmp_path):
    """ultralytics ignores lr0 under optimizer='auto', so a lower rate must name the optimiser too."""
    ckpt = tmp_path / "start.pt"
    ckpt.write_bytes(b"x")  # opened by the fake YOLO only
    trusted = ["--weights", str(ckpt), "--trust-checkpoints"]
    assert train.main(["--data", str(fake_yolo), *trusted, "--no-export", "--lr0", "0.0005"]) == 0
    assert train.main(["--data", str(fake_yolo), *trusted, "--no-export"]) == 0
    lowered, default = _FakeYOLO.built
    assert lowered.train_kwargs["optimizer"] == "AdamW" and lowered.train_kwargs["lr0"] == pytest.approx(0.0005)
    assert lowered.train_kwargs["warmup_bias_lr"] == 0.0
    assert "optimizer" not in default.train_kwargs and "lr0" not in default.train_kwargs
    assert default.train_kwargs["degrees"] == 0.0


def test_degrees_reaches_ultralytics(fake_yolo):
    assert train.main(["--data", str(fake_yolo), "--no-export", "--degrees", "15"]) == 0
    assert _FakeYOLO.built[0].train_kwargs["degrees"] == 15.0


def test_freeze_keeps_the_first_layers_and_zero_trains_them_all(fake_yolo):
    assert train.main(["--data", str(fake_yolo), "--no-export", "--freeze", "22"]) == 0
    assert train.main(["--data", str(fake_yolo), "--no-export"]) == 0
    head_only, everything = _FakeYOLO.built
    assert head_only.train_kwargs["freeze"] == 22 and everything.train_kwargs["freeze"] is None


def test_export_keeps_files_already_there_unless_told(tmp_path, capsys):
    """The default --out-dir is weights/: a bare export must not replace the shipped int8 detector."""
    from detection import export
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(b"not reached")
    shipped = tmp_path / "face_detector.onnx"
    shipped.write_bytes(b"int8 file")
    assert export.main([str(ckpt), "--out-dir", str(tmp_path)]) == 2
    assert shipped.read_bytes() == b"int8 file"
    err = capsys.readouterr().err
    assert "already there and kept" in err and "--overwrite" in err


def _tiny_detector_checkpoint(path, fill: float, scale: str = "n"):
    import torch
    from ultralytics.nn.tasks import DetectionModel
    model = DetectionModel(f"yolov8{scale}.yaml", nc=1, verbose=False)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(fill)
    torch.save({"model": None, "ema": model.half(), "train_args": {}}, path)


def test_export_averages_the_weights_of_several_checkpoints(tmp_path):
    """WiSE-FT style: the mean of a fine-tune and its start, a training checkpoint's EMA copy included."""
    from detection import export
    from ultralytics.nn.tasks import torch_safe_load
    a, b, out = tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "avg.pt"
    _tiny_detector_checkpoint(a, 1.0)
    _tiny_detector_checkpoint(b, 0.5)
    export.average_checkpoints([a, b, b], out)
    ckpt = torch_safe_load(str(out))[0]
    assert ckpt["ema"] is None and ckpt["averaged_from"] == [str(a), str(b), str(b)]
    values = [float(p.float().mean()) for p in ckpt["model"].parameters()]
    assert values and all(v == pytest.approx(2 / 3, abs=1e-3) for v in values)


def test_export_refuses_to_average_different_networks(tmp_path, capsys):
    from detection import export
    a, b = tmp_path / "n.pt", tmp_path / "s.pt"
    _tiny_detector_checkpoint(a, 1.0, "n")
    _tiny_detector_checkpoint(b, 1.0, "s")
    assert export.main([str(a), str(b), "--trust-checkpoints", "--out-dir", str(tmp_path / "out")]) == 2
    assert "different architecture" in capsys.readouterr().err
    assert not (tmp_path / "out" / "face_detector.pt").exists()


def test_int8_keeps_the_detect_heads_decoding_float():
    from detection.quantize import head_kept_float
    names = ["/model.0/conv/Conv", "/model.22/cv2.0/cv2.0.0/conv/Conv", "/model.22/cv3.1/cv3.1.1/conv/Conv",
             "/model.22/cv2.0/cv2.0.2/Conv", "/model.22/dfl/conv/Conv", "/model.22/Sigmoid", "/model.22/Concat_26"]
    assert head_kept_float(names) == names[3:]


def test_calibration_frames_are_letterboxed_like_a_webcam_frame(tmp_path):
    from detection.quantize import calibration_frames
    for i, shape in enumerate([(100, 200, 3), (300, 120, 3)]):
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), np.full(shape, 80, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    frames = list(calibration_frames([tmp_path], n_images=5, imgsz_px=384))
    assert [f.shape for f in frames] == [(1, 3, 288, 384)] * 2
    assert all(0.0 <= f.min() and f.max() <= 1.0 for f in frames)


def _tiny_conv_model(path):
    """1x3xHxW -> Conv(3->4, 3x3) -> Sigmoid: enough graph for ONNX Runtime's quantiser."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    weight = numpy_helper.from_array(np.random.default_rng(0).normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["images", "w"], ["c"], name="/model.0/conv/Conv", pads=[1, 1, 1, 1]),
         helper.make_node("Sigmoid", ["c"], ["out"], name="/model.0/act/Sigmoid")],
        "tiny", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, "height", "width"])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_quantize_writes_an_int8_copy_that_answers_like_the_float_one(tmp_path):
    import onnxruntime as ort
    from detection import quantize
    float_onnx, out = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    _tiny_conv_model(float_onnx)
    images = tmp_path / "train"
    images.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        cv2.imwrite(str(images / f"{i}.png"), rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    assert quantize.main([str(float_onnx), "--calibration", str(images), "--images", "4", "--imgsz", "64",
                          "--out", str(out)]) == 0
    x = next(quantize.calibration_frames([images], 1, 64))
    ref = ort.InferenceSession(str(float_onnx)).run(None, {"images": x})[0]
    got = ort.InferenceSession(str(out)).run(None, {"images": x})[0]
    assert np.abs(got - ref).max() < 0.05
    assert any(n.op_type == "QuantizeLinear" for n in __import__("onnx").load(str(out)).graph.node)


def test_quantize_calibrates_chunk_by_chunk_over_every_whole_chunk(tmp_path, monkeypatch):
    """ONNX Runtime holds every activation of the images it is given at once (17 GB for 300 frames at
    384 px), so they go in chunks; each whole chunk is seen, and a bright frame in a later chunk still
    widens the input's range (the result answers like the float model on it)."""
    import onnxruntime as ort
    from detection import quantize
    float_onnx, out = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    _tiny_conv_model(float_onnx)
    images = tmp_path / "train"
    images.mkdir()
    for i in range(5):
        cv2.imwrite(str(images / f"{i}.png"), np.full((48, 64, 3), 250 if i == 4 else 20, np.uint8))
    handed = []
    real_blob = quantize.letterbox_blob
    monkeypatch.setattr(quantize, "letterbox_blob", lambda *a: handed.append(1) or real_blob(*a))
    assert quantize.main([str(float_onnx), "--calibration", str(images), "--images", "5", "--imgsz", "64",
                          "--chunk-images", "2", "--out", str(out)]) == 0
    assert len(handed) == 4   # two whole chunks of two; the fifth image would be a partial chunk
    assert images / "4.png" in quantize.calibration_files([images], 4)[2:]   # the bright frame is in chunk two
    bright = real_blob(cv2.imread(str(images / "4.png")), 64, 64)[0]
    ref = ort.InferenceSession(str(float_onnx)).run(None, {"images": bright})[0]
    got = ort.InferenceSession(str(out)).run(None, {"images": bright})[0]
    assert np.abs(got - ref).max() < 0.05


def test_quantize_says_when_the_calibration_folders_hold_no_images(tmp_path, capsys):
    from detection import quantize
    float_onnx = tmp_path / "float.onnx"
    _tiny_conv_model(float_onnx)
    (tmp_path / "empty").mkdir()
    assert quantize.main([str(float_onnx), "--calibration", str(tmp_path / "empty"), "--out", str(tmp_path / "o.onnx")]) == 2
    assert "no images in" in capsys.readouterr().err
    assert not (tmp_path / "o.onnx").exists()


def test_quantize_refuses_to_overwrite_its_input_or_read_a_missing_folder(tmp_path, capsys):
    from detection import quantize
    float_onnx = tmp_path / "float.onnx"
    _tiny_conv_model(float_onnx)
    before = float_onnx.read_bytes()
    assert quantize.main([str(float_onnx), "--calibration", str(tmp_path), "--out", str(float_onnx)]) == 2
    assert quantize.main([str(float_onnx), "--calibration", str(tmp_path / "nope"), "--out", str(tmp_path / "o.onnx")]) == 2
    assert float_onnx.read_bytes() == before
    err = capsys.readouterr().err
    assert "--out must differ" in err and "no calibration folder" in err


def test_a_new_run_never_trains_over_a_run_folders_weights(tmp_path):
    from detection.train import check_run_name, run_imgsz
    last = tmp_path / "face" / "weights" / "last.pt"
    check_run_name(last, resume=False)           # a new name: go
    last.parent.mkdir(parents=True)
    last.write_bytes(b"w")
    check_run_name(last, resume=True)            # --resume continues it
    with pytest.raises(FileExistsError, match="already holds last.pt and was kept.*--resume.*--name"):
        check_run_name(last, resume=False)
    assert run_imgsz(tmp_path / "face", 320) == 320               # no args.yaml: the command's size
    (tmp_path / "face" / "args.yaml").write_text("imgsz: 640\nepochs: 2\n")
    assert run_imgsz(tmp_path / "face", 320) == 640               # a resumed run exports at its own size
    (tmp_path / "face" / "results.csv").write_text("epoch,loss\n1,0.5\n")
    check_run_name(last, resume=True)                             # one of two epochs: --resume continues it
    (tmp_path / "face" / "results.csv").write_text("epoch,loss\n1,0.5\n2,0.4\n")
    for resume in (True, False):                                  # finished: ultralytics cannot resume it
        with pytest.raises(FileExistsError, match="finished every epoch.*--weights .*last.pt .*--name face_next"):
            check_run_name(last, resume=resume)
    (tmp_path / "face" / "args.yaml").write_text("imgsz: 640\nepochs: 2\ntime: 3.0\n")
    check_run_name(last, resume=True)       # --hours re-plans its epochs: the count says nothing, --resume goes on
    (tmp_path / "face" / "finished.json").write_text("{}")       # what detection.train writes when training returns
    with pytest.raises(FileExistsError, match="finished every epoch"):
        check_run_name(last, resume=True)


def test_a_device_this_machine_lacks_is_one_line():
    from core.errors import SourceError
    from detection.train import check_device
    for device in ("cpu", "mps", "cuda:0", "-1"):   # ultralytics' own names are its to judge
        check_device(device)
    for device in ("7", "0,9"):
        with pytest.raises(SourceError, match="CUDA device"):
            check_device(device)
