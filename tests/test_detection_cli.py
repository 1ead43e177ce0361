"""Bad input to the detector's tools: one `error:` line and exit status 2, never a traceback; untrusted
checkpoints are never loaded; the user's files are never replaced without --overwrite."""
from __future__ import annotations

import os
import pickle

import cv2
import numpy as np
import pytest
import yaml

from core.cli import run_tool
from detection import composites, evaluate, export, holdout, pack_data, quantize, train
from tests.test_detection_tools import _FakeYOLO, _tiny_conv_model, _tiny_detector_checkpoint, fake_yolo  # noqa: F401


class _Evil:
    """Unpickling this creates a marker file: the stand-in for code hidden in a downloaded .pt."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.fixture
def evil_pt(tmp_path):
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(_Evil(tmp_path / "MARKER")))
    return path


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def _image_folder(folder, n=1):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i}.jpg"), np.full((48, 64, 3), 90, np.uint8))
    return folder


def _data_yaml(root):
    """A one-image YOLO set with train and val, as pack_data and train read it."""
    for split in ("train", "val"):
        _image_folder(root / "images" / split)
        (root / "labels" / split).mkdir(parents=True)
        (root / "labels" / split / "0.txt").write_text("0 0.5 0.5 0.25 0.5\n")
    data = root / "data.yaml"
    data.write_text(f"train: {root / 'images' / 'train'}\nval: {root / 'images' / 'val'}\nnc: 1\nnames: [face]\n")
    return data


# 1. a .pt is a pickle: loading it runs its code, so no tool reads one without --trust-checkpoints

@pytest.mark.parametrize("tool, argv", [
    (export, ["{pt}", "--out-dir", "{tmp}/out", "--name", "ev"]),
    (evaluate, ["--data", "none", "--negatives", "{tmp}/neg", "--weights", "{pt}", "--speed-frames", "0",
                "--out", "{tmp}/eval"]),
    (evaluate, ["--data", "none", "--negatives", "{tmp}/neg", "--speed-weights", "{pt}", "--out", "{tmp}/eval"]),
    (train, ["--weights", "{pt}", "--data", "{tmp}/data.yaml", "--no-export"]),
])
def test_an_untrusted_checkpoint_is_refused_before_it_is_read(tool, argv, evil_pt, tmp_path, capsys):
    _image_folder(tmp_path / "neg")
    (tmp_path / "data.yaml").write_text("train: x\nval: x\n")
    argv = [a.format(pt=evil_pt, tmp=tmp_path) for a in argv]
    assert run_tool(tool.main, argv) == 2
    assert not (tmp_path / "MARKER").exists()
    _one_line_error(capsys, "--trust-checkpoints", "run code" if tool is evaluate else "runs code")
    assert not (tmp_path / "out").exists()


def test_trusted_fine_tune_still_opens_the_checkpoint_itself(fake_yolo, tmp_path):  # noqa: F811
    ckpt = tmp_path / "start.pt"
    ckpt.write_bytes(b"read by ultralytics, faked here")
    assert train.main(["--data", str(fake_yolo), "--weights", str(ckpt), "--trust-checkpoints", "--no-export",
                       "--lr0", "0.0005"]) == 0
    (model,) = _FakeYOLO.built
    assert model.source == str(ckpt) and model.train_kwargs["pretrained"] is True
    assert model.train_kwargs["optimizer"] == "AdamW"


def test_trusted_export_still_refuses_to_average_different_networks(tmp_path, capsys):
    a, b = tmp_path / "n.pt", tmp_path / "s.pt"
    _tiny_detector_checkpoint(a, 1.0, "n")
    _tiny_detector_checkpoint(b, 1.0, "s")
    assert export.main([str(a), str(b), "--out-dir", str(tmp_path / "out"), "--trust-checkpoints"]) == 2
    assert "different architecture" in capsys.readouterr().err
    assert not (tmp_path / "out" / "face_detector.pt").exists()


# 2. quantize keeps a file already at --out (the shipped detector) unless told

def test_quantize_keeps_an_existing_out_unless_overwrite(tmp_path, capsys):
    float_onnx, out = tmp_path / "float.onnx", tmp_path / "shipped.onnx"
    _tiny_conv_model(float_onnx)
    out.write_bytes(b"shipped int8 file")
    images = _image_folder(tmp_path / "train", 2)
    argv = [str(float_onnx), "--calibration", str(images), "--images", "2", "--imgsz", "64", "--out", str(out)]
    assert run_tool(quantize.main, argv) == 2
    assert out.read_bytes() == b"shipped int8 file"
    _one_line_error(capsys, str(out), "--overwrite")
    assert run_tool(quantize.main, argv + ["--overwrite"]) == 0
    assert out.read_bytes() != b"shipped int8 file"


# 3. pack_data never packs into its source, and into a folder holding files only with --overwrite

def test_pack_data_refuses_a_full_out_and_its_own_source(tmp_path, capsys):
    data = _data_yaml(tmp_path / "src")
    source_yaml = data.read_text()
    full = tmp_path / "full"
    (full / "train").mkdir(parents=True)
    (full / "train" / "keep.txt").write_text("mine")
    assert run_tool(pack_data.main, ["--data", str(data), "--out", str(full)]) == 2
    assert (full / "train" / "keep.txt").read_text() == "mine"
    _one_line_error(capsys, "--overwrite")
    for out in (data.parent, data.parent / "packed", data.parent / "images" / "train"):
        for flags in ([], ["--overwrite"]):  # said first: --overwrite would not help
            assert run_tool(pack_data.main, ["--data", str(data), "--out", str(out), *flags]) == 2
            _one_line_error(capsys, "overlaps the source")
    assert data.read_text() == source_yaml and (data.parent / "images" / "train" / "0.jpg").is_file()
    (tmp_path / "empty").mkdir()
    assert run_tool(pack_data.main, ["--data", str(data), "--out", str(tmp_path / "empty")]) == 0
    assert (tmp_path / "empty" / "train" / "images" / "0.webp").is_file()


# 4. a checkpoint that fails to export leaves nothing behind to block the next run

def test_export_of_a_broken_checkpoint_writes_nothing(tmp_path, capsys):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"")
    out = tmp_path / "out"
    for _ in range(2):  # the second run meets the same error, not "already there and kept"
        assert run_tool(export.main, [str(broken), "--out-dir", str(out), "--trust-checkpoints"]) == 2
        _one_line_error(capsys, "could not export", "nothing was written")
        assert not out.exists() or not any(out.iterdir())


def test_trusted_export_moves_both_files_into_out_dir(tiny_detector_weights, tmp_path):
    from detection import FaceDetector
    out = tmp_path / "out"
    assert export.main([str(tiny_detector_weights), "--out-dir", str(out), "--name", "det",
                        "--trust-checkpoints"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["det.onnx", "det.pt"]
    assert FaceDetector(out / "det.onnx")._onnx.fixed_hw is None  # dynamic: frames run as rectangles


# 5. --write-metrics keeps a file already there unless told

def test_write_metrics_keeps_an_existing_file_unless_overwrite(tmp_path, capsys, tiny_onnx_detector_weights):
    negatives = _image_folder(tmp_path / "neg")
    metrics = tmp_path / "metrics.json"
    metrics.write_text("{\"kept\": true}")
    argv = ["--data", "none", "--negatives", str(negatives), "--weights", str(tiny_onnx_detector_weights),
            "--out", str(tmp_path / "eval"), "--write-metrics", str(metrics)]
    assert run_tool(evaluate.main, argv) == 2
    assert metrics.read_text() == "{\"kept\": true}"
    _one_line_error(capsys, "--overwrite")
    assert run_tool(evaluate.main, argv + ["--overwrite"]) == 0
    assert "negatives" in yaml.safe_load(metrics.read_text())["rows"]["app"]


# 6. what used to end in a traceback

@pytest.fixture
def bad_files(tmp_path):
    (tmp_path / "text.yaml").write_text("just a sentence\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "text.onnx").write_text("not a model\n")
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "a_file").write_text("in the way")
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "wider" / "wider_face_subset" / "images" / "train").mkdir(parents=True)
    _image_folder(tmp_path / "neg")
    return tmp_path


@pytest.mark.parametrize("tool, argv, needle", [
    (composites, ["--datasets", "{tmp}/emptydir", "--out", "{tmp}/comp"], "../shared/datasets/README.md"),
    (train, ["--data", "{tmp}/nope.yaml"], "no data.yaml"),
    (train, ["--data", "{tmp}/text.yaml"], "train, val"),
    (train, ["--weights", "{tmp}/nope.pt", "--trust-checkpoints"], "no checkpoint at"),
    (evaluate, ["--data", "{tmp}/text.yaml"], "not a YOLO data.yaml"),
    (evaluate, ["--data", "{tmp}/empty.yaml"], "not a YOLO data.yaml"),
    (evaluate, ["--data", "none", "--negatives", "{tmp}/emptydir"], "no images in"),
    (evaluate, ["--weights", "{tmp}/nope.onnx", "--data", "{tmp}/nope.yaml"], "No face-detector weights at"),
    (evaluate, ["--speed-weights", "{tmp}/nope.onnx", "--data", "none", "--negatives", "{tmp}/emptydir"],
     "No face-detector weights at"),
    (evaluate, ["--data", "none", "--negatives", "{tmp}/neg", "--out", "{tmp}/a_file"], "is a file"),
    (pack_data, ["--data", "{tmp}/empty.yaml", "--out", "{tmp}/packed"], "not a YOLO data.yaml"),
    (quantize, ["{tmp}/text.onnx", "--calibration", "{tmp}/neg", "--out", "{tmp}/o.onnx"], "not an ONNX model"),
    (quantize, ["{tmp}/empty.onnx", "--calibration", "{tmp}/neg", "--out", "{tmp}/o.onnx"], "not an ONNX model"),
    (holdout, ["--datasets", "{tmp}/wider", "--out", "{tmp}/a_file"], "a_file"),
])
def test_bad_input_is_one_line(tool, argv, needle, bad_files, capsys):
    assert run_tool(tool.main, [a.format(tmp=bad_files) for a in argv]) == 2
    _one_line_error(capsys, needle)
    assert not (bad_files / "comp").exists() and not (bad_files / "packed").exists()


def test_train_without_datasets_names_the_missing_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train, "DEFAULT_DATA", tmp_path / "cache" / "data.yaml")
    monkeypatch.setattr(train, "DATASETS_DIR", tmp_path / "datasets")
    assert run_tool(train.main, ["--no-export"]) == 2
    _one_line_error(capsys, str(tmp_path / "datasets"), "fairface", "--datasets", "../shared/datasets/README.md")
    assert not (tmp_path / "cache").exists()


# 7. numbers out of range are argparse errors, before anything runs

@pytest.mark.parametrize("tool, argv", [
    (quantize, ["f.onnx", "--calibration", "d", "--out", "o.onnx", "--images", "0"]),
    (evaluate, ["--conf", "nan"]),
    (evaluate, ["--rows", "app@0"]),
    (export, ["x.pt", "--imgsz", "-5"]),
    (pack_data, ["--out", "o", "--quality", "500"]),
    (pack_data, ["--out", "o", "--quality", "-5"]),
    (train, ["--epochs", "0"]),
])
def test_numbers_out_of_range_are_refused_by_name(tool, argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        tool.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err or "error: --rows" in err, err
