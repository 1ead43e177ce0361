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
    data = tmp_path / "data.yaml"
    data.write_text("train: x\nval: x\nnc: 1\nnames: [face]\n")
    return data


def test_fine_tune_opens_the_checkpoint_itself(fake_yolo, tmp_path):
    """Building yolov8n.yaml (80 classes) and loading a 1-class checkpoint re-initialised its class layer."""
    ckpt = tmp_path / "start.pt"
    assert train.main(["--data", str(fake_yolo), "--weights", str(ckpt), "--no-export", "--hours", "0.1",
                       "--no-plots"]) == 0
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
    assert train.main(["--data", str(fake_yolo), "--weights", str(ckpt), "--no-export", "--lr0", "0.0005"]) == 0
    assert train.main(["--data", str(fake_yolo), "--weights", str(ckpt), "--no-export"]) == 0
    lowered, default = _FakeYOLO.built
    assert lowered.train_kwargs["optimizer"] == "AdamW" and lowered.train_kwargs["lr0"] == pytest.approx(0.0005)
    assert lowered.train_kwargs["warmup_bias_lr"] == 0.0
    assert "optimizer" not in default.train_kwargs and "lr0" not in default.train_kwargs
