"""`classification.compare`: the shipping rule reads two evaluate metrics files and says better or not."""
from __future__ import annotations

import json

from classification import compare


def _metrics(path, utk_children, aaf_gender, scales=("1.0", "1.2")):
    by_scale = {s: {"utkface": {"faces": 10, "exact_acc": 0.7, "one_off_acc": 0.95, "children_exact_acc": utk_children,
                                "gender_acc": 0.92},
                    "aaf": {"faces": 10, "gender_acc": aaf_gender, "one_off_acc": 0.9},
                    "overall": {"gender_acc": 0.5}} for s in scales}
    path.write_text(json.dumps({"by_scale": by_scale}))
    return path


def test_a_candidate_must_not_lose_any_source_figure_on_average(tmp_path):
    base = _metrics(tmp_path / "base.json", 0.80, 0.90)
    gains_only = _metrics(tmp_path / "a.json", 0.80, 0.93)
    trade = _metrics(tmp_path / "b.json", 0.78, 0.95)  # more gender, fewer children: not better
    same = _metrics(tmp_path / "c.json", 0.80, 0.90)
    assert compare.main([str(gains_only), "--base", str(base)]) == 0
    assert compare.main([str(trade), "--base", str(base)]) == 1
    assert compare.main([str(same), "--base", str(base)]) == 1  # nothing higher is not better either
    text, better = compare.report(base, trade)
    assert not better and "utkface children -2.00 points" in text and "aaf" in text
    assert "sum of the mean changes: +3.00 points" in text  # -2.00 children, +5.00 aaf gender


def test_bad_files_get_a_one_line_error(tmp_path, capsys):
    base = _metrics(tmp_path / "base.json", 0.8, 0.9)
    other_scales = _metrics(tmp_path / "o.json", 0.8, 0.9, scales=("2.0",))
    (tmp_path / "broken.json").write_text("{")
    assert compare.main([str(tmp_path / "broken.json"), "--base", str(base)]) == 2
    assert compare.main([str(other_scales), "--base", str(base)]) == 2
    assert compare.main([str(tmp_path / "missing.json"), "--base", str(base)]) == 2
    (tmp_path / "binary.json").write_bytes(b"\x00\xa4\xff" * 20)
    assert compare.main([str(tmp_path / "binary.json"), "--base", str(base)]) == 2
    (tmp_path / "numbers.json").write_text('{"by_scale": {"1.4": 5}}')
    assert compare.main([str(tmp_path / "numbers.json"), "--base", str(base)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 5 and all(line.startswith("error: ") for line in err)
    assert "binary.json" in err[3] and "numbers.json" in err[4]


def test_markdown_tables_put_the_base_figures_beside_the_candidates_and_bold_the_default(tmp_path, capsys):
    base = _metrics(tmp_path / "base.json", 0.80, 0.90)
    candidate = _metrics(tmp_path / "cand.json", 0.75, 0.93)
    data = json.loads(candidate.read_text())
    data["default_crop_scale"] = 1.2
    candidate.write_text(json.dumps(data))
    assert compare.main([str(candidate), "--base", str(base), "--markdown", "stage 0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "stage 0: exact / 1-off / children / gender" in lines[0]
    assert "| 1.0 | UTKFace | 10 | 70.0% | 95.0% | 75.0% | 92.0% | 70.0 / 95.0 / 80.0 / 92.0 |" in lines
    assert "| **1.2** | All-Age-Faces | 10 |  | **90.0%** |  | **93.0%** | – / 90.0 / – / 90.0 |" in lines
    assert any(line.startswith("| **1.2 (default)** | UTKFace") for line in lines)
    assert "| 1.0 |  |  | 50.0% | – / – / 50.0 |" in lines                        # pooled: only gender given


def test_the_report_counts_the_faces_behind_each_mean(tmp_path):
    base = _metrics(tmp_path / "base.json", 0.80, 0.90)
    trade = _metrics(tmp_path / "b.json", 0.70, 1.00)  # of 10 faces a setting: one child fewer, one gender more
    text, _ = compare.report(base, trade)
    line = {tuple(row.split()[:2]): row for row in text.splitlines() if row.strip()}
    assert line[("aaf", "gender")].endswith("+10.00  +2 of 20")  # one face more at each of two settings
    assert line[("utkface", "children")].endswith("-10.00")  # the file gives no children count: no net shown
    data = json.loads(trade.read_text())
    for figures in data["by_scale"].values():
        figures["utkface"]["children_faces"] = 10
    trade.write_text(json.dumps(data))
    text, _ = compare.report(base, trade)
    assert any(row.split()[:2] == ["utkface", "children"] and row.endswith("-2 of 20") for row in text.splitlines())


def _per_face(folder, right_at_each_setting, scales=("1.0", "1.2")):
    """A run folder with metrics.json and per_face.npz: 100 UTKFace faces, gender right on the first N."""
    import numpy as np
    folder.mkdir()
    n = right_at_each_setting
    by_scale = {s: {"utkface": {"faces": 100, "gender_acc": n / 100}} for s in scales}
    (folder / "metrics.json").write_text(json.dumps({"by_scale": by_scale}))
    outcomes = {f"{s}/gender_acc": (np.arange(100) < n).astype(float) for s in scales}
    np.savez_compressed(folder / "per_face.npz", path=np.array([f"f{i:03d}.jpg" for i in range(100)]),
                        source=np.array(["utkface"] * 100), **outcomes)
    return folder / "metrics.json"


def test_paired_intervals_bracket_the_change_and_shrink_to_it_when_every_face_moves_alike(tmp_path):
    base, candidate = _per_face(tmp_path / "a", 80), _per_face(tmp_path / "b", 85)
    text, better = compare.report(base, candidate, paired=True)
    row = next(line for line in text.splitlines() if "gender" in line)
    low, high = (float(v) for v in row.split("[")[1].rstrip("]").split(","))
    assert better and low < 5.0 < high and high - low < 10  # 5 faces of 100 gained: the interval holds +5
    same = _per_face(tmp_path / "c", 80)
    row = next(line for line in compare.report(base, same, paired=True)[0].splitlines() if "gender" in line)
    assert row.endswith("95% [+0.00, +0.00]")  # no face changed: no draw can show a change


def test_paired_needs_the_same_faces(tmp_path, capsys):
    import numpy as np
    base, other = _per_face(tmp_path / "a", 80), _per_face(tmp_path / "b", 85)
    data = dict(np.load(tmp_path / "b" / "per_face.npz"))
    data["path"] = np.array([f"g{i}.jpg" for i in range(100)])
    np.savez_compressed(tmp_path / "b" / "per_face.npz", **data)
    assert compare.main([str(other), "--base", str(base), "--paired"]) == 2
    assert "different faces" in capsys.readouterr().err


def test_the_band_rule_passes_a_loss_within_noise_and_refuses_one_beyond_it(tmp_path):
    base = _per_face(tmp_path / "a", 80)
    clear_gain, tiny_loss, clear_loss = _per_face(tmp_path / "b", 90), _per_face(tmp_path / "c", 79), _per_face(tmp_path / "d", 60)
    assert compare.main([str(clear_gain), "--base", str(base), "--rule", "band"]) == 0
    # one face of 100 lost: the strict rule says no, the band says the loss is noise but nothing is gained
    assert compare.main([str(tiny_loss), "--base", str(base)]) == 1
    text, better = compare.report(base, tiny_loss, rule="band")
    assert not better and "no interval lies above zero" in text
    text, better = compare.report(base, clear_loss, rule="band")
    assert not better and "utkface gender 95% [" in text and "lies below zero" in text
    # a second source that gains clearly does not buy back a loss beyond the band on the first
    intervals = {"utkface": {"gender_acc": (-3.0, -0.5)}, "fairface": {"gender_acc": (1.0, 2.0)}}
    assert compare.band_verdict(intervals)[0] is False
    assert compare.band_verdict({"utkface": {"exact_acc": (-0.9, 0.4)}, "aaf": {"exact_acc": (0.6, 2.8)}})[0] is True


def test_files_that_measured_different_things_are_refused(tmp_path, capsys):
    base = _metrics(tmp_path / "base.json", 0.80, 0.90)
    data = json.loads(base.read_text())
    cases = {}
    cases["val"] = {**data, "split": "facedata.datasets.split_name == 'val' (sha1 of source:file name, 5.4%)"}
    cut_short = json.loads(base.read_text())
    cut_short["by_scale"]["1.0"]["aaf"]["faces"] = 3                  # an evaluation run with --limit
    cases["limit"] = cut_short
    no_aaf = json.loads(base.read_text())
    for figures in no_aaf["by_scale"].values():
        del figures["aaf"]                                            # a source the candidate lacks
    cases["source"] = no_aaf
    expected = {"val": "on the val split", "limit": "3 faces in", "source": "has no aaf figures"}
    for name, metrics in cases.items():
        candidate = tmp_path / f"{name}.json"
        candidate.write_text(json.dumps(metrics))
        assert compare.main([str(candidate), "--base", str(base)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expected[name] in err, err
    # the split line's share changed wording over time; the split itself is what must agree
    old = {**data, "split": "facedata.datasets.split_name == 'val' (sha1 of source:file name or person, 5%)"}
    (tmp_path / "old_val.json").write_text(json.dumps(old))
    assert compare.main([str(tmp_path / "val.json"), "--base", str(tmp_path / "old_val.json")]) == 1
