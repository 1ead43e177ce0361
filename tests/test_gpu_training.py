"""A classifier stage on a lent GPU machine: what travels (classification.carry) and the torch-backend
trainer (classification.train_gpu) that runs there without TensorFlow."""
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT


def test_weight_parts_split_under_the_size_limit_and_come_back_in_order(tmp_path):
    from classification.carry import load_weight_parts, save_weight_parts, weight_facts
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=s).astype(np.float32) for s in ((100, 200), (7,), (100, 200), (3, 3, 8, 16))]
    paths = save_weight_parts(weights, tmp_path, "init", part_mib=0.06, input_size_px=112)   # 40 KB a matrix
    assert len(paths) == 2 and all(p.stat().st_size < 0.06 * 2**20 + 2048 for p in paths)
    back = load_weight_parts(tmp_path, "init")
    assert [w.shape for w in back] == [w.shape for w in weights] and all(w.dtype == np.float32 for w in back)
    assert max(np.abs(a - b).max() for a, b in zip(back, weights)) < 2e-3      # float16 on the way
    assert weight_facts(tmp_path, "init")["input_size_px"] == 112
    paths[1].unlink()
    with pytest.raises(ValueError, match="missing"):
        load_weight_parts(tmp_path, "init")
    with pytest.raises(ValueError, match="no .*last.json"):
        load_weight_parts(tmp_path, "last")


def _fake_cache(folder, n=12, size=64):
    folder.mkdir()
    yy, xx = np.mgrid[:size, :size]
    images = np.stack([np.dstack([(xx * 3 + i) % 256, (yy * 2) % 256, np.full_like(xx, 40 * (i % 5))])
                       for i in range(n)]).astype(np.uint8)
    np.save(folder / "images.npy", images)
    split = np.array(["train", "val", "test"] * (n // 3))
    np.savez(folder / "labels.npz", keep=np.ones(n, bool), split=split, age_soft=np.eye(8, dtype=np.float32)[np.arange(n) % 8],
             gender=np.array([0, 1, -1] * (n // 3)), source=np.arange(n) % 3)
    (folder / "meta.json").write_text(json.dumps({"scale": 2.0, "size_px": size}))
    return images, split


def test_pack_carries_the_training_split_only_in_shards_that_decode_back(tmp_path):
    from classification.carry import pack, read_packed
    images, split = _fake_cache(tmp_path / "cache")
    manifest = pack(tmp_path / "cache", tmp_path / "pack", shard_mib=0.0004, init=None)
    assert manifest["faces"] == 4 and len(manifest["shards"]) > 1 and manifest["cache_scale"] == 2.0
    manifest, faces, labels = read_packed(tmp_path / "pack")
    train = images[split == "train"]
    assert faces.shape == train.shape and np.abs(faces.astype(int) - train).mean() < 12   # WebP is lossy
    np.testing.assert_array_equal(labels["gender"], [0, 0, 0, 0])
    (tmp_path / "pack" / manifest["shards"][0]["file"]).unlink()
    with pytest.raises(ValueError, match="carry every faces"):
        read_packed(tmp_path / "pack")


def test_the_torch_crop_is_tensorflows_crop_and_resize():
    from runtime import import_tensorflow, import_torch
    torch = import_torch()
    tf = import_tensorflow()
    from classification.train_gpu import square_crops
    images = np.random.default_rng(1).uniform(0, 255, (3, 40, 40, 3)).astype(np.float32)
    half, cy, cx = np.array([0.25, 0.35, 0.6]), np.array([0.5, 0.45, 0.55]), np.array([0.5, 0.52, 0.4])
    boxes = np.stack([cy - half, cx - half, cy + half, cx + half], 1).astype(np.float32)
    ref = tf.image.crop_and_resize(images, boxes, tf.range(3), (16, 16), extrapolation_value=0.0).numpy()
    t = lambda a: torch.tensor(a, dtype=torch.float32)
    out = square_crops(torch, t(images), t(half), t(cy), t(cx), 16).numpy()
    inside = ref != 0             # the last crop reaches past the image: black beyond it in both, but where a
    assert np.abs(out - ref)[inside].max() < 0.05                 # sample falls within a pixel of the edge,
    assert 0 < (np.abs(out - ref) > 0.05).mean() < 0.05           # torch blends the edge pixel with black


def test_learning_rate_warms_up_then_decays_to_one_percent():
    from classification.train_gpu import lr_at
    assert lr_at(0, 1.0, 10, 100) == pytest.approx(0.1) and lr_at(9, 1.0, 10, 100) == pytest.approx(1.0)
    assert lr_at(10, 1.0, 10, 100) == pytest.approx(1.0) and lr_at(100, 1.0, 10, 100) == pytest.approx(0.01)
    assert lr_at(55, 1.0, 10, 100) == pytest.approx(0.505)


def test_the_plan_fits_the_budget_left_at_the_measured_pace():
    from classification.train_gpu import planned_steps
    assert planned_steps(40, elapsed_s=60, budget_s=960, step_s=0.15) == 40 + 6000
    assert planned_steps(300, elapsed_s=1000, budget_s=960, step_s=0.15) == 301   # over budget: one more step


def test_a_short_cpu_trial_writes_parts_that_unpack_into_checkpoints(tmp_path):
    """Two steps of the torch-backend trainer (its own process: Keras picks its backend once) on a packed
    fake cache, from a 75 px network's weights; the parts it writes unpack into a loadable last.keras."""
    from classification.carry import pack, save_weight_parts, unpack
    from classification.model import build_model, load_checkpoint, save_atomically
    _fake_cache(tmp_path / "cache", n=12, size=96)
    pack(tmp_path / "cache", tmp_path / "pack", shard_mib=1, init=None)
    model = build_model(75)
    save_atomically(model, tmp_path / "template.keras")
    save_weight_parts(model.get_weights(), tmp_path / "pack", "init", input_size_px=75, source="template")
    run = subprocess.run([sys.executable, "-m", "classification.train_gpu", "--faces", str(tmp_path / "pack"),
                          "--out", str(tmp_path / "out"), "--minutes", "1", "--max-steps", "2", "--batch", "2",
                          "--warmup-steps", "1", "--device", "cpu", "--precision", "float32", "--average-every", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    state = json.loads((tmp_path / "out" / "state.json").read_text())
    assert state["steps"] == 2 and state["faces"] == 4 and state["averaged_samples"] >= 1
    written = unpack(tmp_path / "out", str(tmp_path / "template.keras"), tmp_path / "run")
    assert [p.name for p in written] == ["last.keras", "average.keras"]
    trained = load_checkpoint(tmp_path / "run" / "last.keras")
    assert any(np.abs(a - b).max() > 0 for a, b in zip(trained.get_weights(), model.get_weights()))
    from classification.model import batchnorm_layers
    norms = batchnorm_layers(trained)
    assert norms and not any(layer.trainable for layer in norms)     # frozen, as train_gpu trained them
    with pytest.raises(FileExistsError, match="kept"):
        unpack(tmp_path / "out", str(tmp_path / "template.keras"), tmp_path / "run")


def test_without_a_gpu_the_trainer_says_how_to_run_a_trial(tmp_path):
    run = subprocess.run([sys.executable, "-m", "classification.train_gpu", "--faces", str(tmp_path), "--out",
                          str(tmp_path / "o"), "--minutes", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    from runtime import import_torch
    if import_torch().cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    assert run.returncode == 2 and "--device cpu" in run.stderr.strip().splitlines()[-1]


def test_both_trainers_augment_from_one_table():
    """With every random change pinned (a 'still' table: no lighting change, grey always, flip always, no
    jitter or blur, the smallest slider scale), the TensorFlow and torch augmentations cut the same crops;
    so the ranges in `classification.augment` are the only place the two trainers take them from."""
    from runtime import import_tensorflow, import_torch
    torch = import_torch()
    tf = import_tensorflow()
    from classification.augment import AugmentRanges
    from classification.train import make_augment as tf_augment
    from classification.train_gpu import make_augment as torch_augment
    from core.config import CROP_SCALE_RANGE
    still = AugmentRanges(gain=(1.0, 1.0), shift_levels=(0.0, 0.0), contrast=(1.0, 1.0), saturation=(1.0, 1.0),
                          grey_rate=1.0, centre_jitter_of_half_side=0.0, flip_rate=1.0, low_res_rate=0.0)
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (3, 64, 64, 3)).astype(np.uint8)
    smallest = np.full(3, CROP_SCALE_RANGE[0], np.float32)
    ref, _, _ = tf_augment(tf, 40, 2.0, still)((tf.constant(images), tf.constant(smallest)), None, None)
    out = torch_augment(torch, 40, 2.0, still)(torch.from_numpy(images), torch.from_numpy(smallest)).numpy()
    ref = ref.numpy()
    assert np.abs(out - ref).max() < 0.05
    assert np.allclose(ref[..., 0], ref[..., 1])                        # grey, as the table said
    moved = torch_augment(torch, 40, 2.0)(torch.from_numpy(images), torch.from_numpy(smallest)).numpy()
    assert np.abs(moved - ref).max() > 1                                 # the shipped table does change them
