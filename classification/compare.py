"""Is a candidate classifier better than the shipped one? `python -m classification.compare --help`.

Reads two metrics files written by `classification.evaluate` (the shipped `weights/age_gender.metrics.json`
and a candidate's `runs/eval/NAME/metrics.json`), prints every headline figure's change at every slider
setting, and each source's change averaged over the slider settings they share.

The shipping rule (issue 14; stage 7 was shipped by it in session 8, stage 8 held back by it in session
10): a candidate is **better** when, for every source, none of its headline figures averaged over the
slider settings is lower than the shipped file's, and at least one is higher. Only a change smaller
than `TIE_POINTS` counts as equal: one face more or less at one setting moves a six-setting mean of the
largest split (4,051 FairFace faces) by 0.004 points, so any real difference counts.
Beside each mean the report prints the net count of face-readings behind it (faces gained minus lost,
summed over the settings), so a verdict decided by two faces reads as such.
Exit status: 0 better, 1 not better, 2 bad input.

`--paired` adds, where both runs kept `per_face.npz` (classification.evaluate writes it beside
metrics.json), a 95% interval for each mean's change from a paired bootstrap over the faces: the
same faces redrawn with replacement for both files, so it says how far the change could move on
another draw of faces like these. With the default `--rule strict` it informs; the verdict stays the
rule above.

`--rule band` (implies `--paired`) is the test-split gate adopted in session 19, before stage 19 was
measured, because the test split has worn on UTKFace (the model card says how): a candidate is
**better** when no source mean's 95% interval lies wholly below zero and at least one lies wholly
above it. The whole gate is two commands: the strict rule on the validation split (exit 0), then
the band rule on the test split (exit 0).

`--markdown BASE_NAME` prints the model card's two tables instead (every source at every setting, then
pooled), the candidate's figures with the base file's beside them under BASE_NAME.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classification.evaluate import PER_FACE_FILE
from core.cli import OneLineParser, run_tool
from core.labels import SOURCE_NAMES
from core.paths import WEIGHTS_DIR

HEADLINE_FIGURES = ("exact_acc", "one_off_acc", "children_exact_acc", "gender_acc")
SHORT_NAMES = {"exact_acc": "exact", "one_off_acc": "1-off", "children_exact_acc": "children", "gender_acc": "gender"}
BOOTSTRAP_DRAWS = 2000
TIE_POINTS = 0.001  # percentage points: float noise, well under one face's worth
# the count each figure is a share of, in evaluate's per-source metrics (FairFace has no in-group count:
# its 1-off is over all its faces)
DENOMINATOR_KEYS = {"exact_acc": ("in_group_faces",), "one_off_acc": ("in_group_faces", "faces"),
                    "children_exact_acc": ("children_faces",), "gender_acc": ("faces",)}


def read_metrics(path: Path) -> dict:
    """A whole evaluate metrics file; ValueError with what to do when it cannot be read or has no figures."""
    try:
        metrics = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:   # ValueError: bad JSON, or bytes that are no text
        raise ValueError(f"cannot read {path} ({exc}): pass a metrics.json written by classification.evaluate")
    by_scale = metrics.get("by_scale") if isinstance(metrics, dict) else None
    if not isinstance(by_scale, dict) or not by_scale or not all(isinstance(v, dict) for v in by_scale.values()):
        raise ValueError(f"{path} has no by_scale figures: rerun `python -m classification.evaluate` for it")
    return metrics


def held_out_split(metrics: dict) -> str:
    """'test' or 'val': the split an evaluate metrics file measured (its "split" line names it; test if none)."""
    found = re.search(r"== '(\w+)'", str(metrics.get("split", "== 'test'")))
    return found.group(1) if found else str(metrics["split"])


def read_comparable(base_path: Path, candidate_path: Path) -> tuple[dict, dict]:
    """Both metrics files (`read_metrics`); ValueError when they did not measure the same thing: another
    held-out split, a source the candidate lacks, or another number of faces (an evaluation cut short with
    --limit)."""
    base, candidate = read_metrics(base_path), read_metrics(candidate_path)
    if held_out_split(base) != held_out_split(candidate):
        raise ValueError(f"{candidate_path} is on the {held_out_split(candidate)} split and {base_path} on the "
                         f"{held_out_split(base)} split: compare evaluations of the same --split (for a validation "
                         f"candidate, --base runs/eval/val_<shipped stage>/metrics.json)")
    for scale, sources in base["by_scale"].items():
        other = candidate["by_scale"].get(scale)
        if not isinstance(other, dict) or not isinstance(sources, dict):
            continue
        for source, figures in sources.items():
            if source == "overall" or not isinstance(figures, dict):
                continue
            if not isinstance(other.get(source), dict):
                raise ValueError(f"{candidate_path} has no {source} figures at slider {scale}, which {base_path} "
                                 f"has: evaluate the candidate with the same --datasets and --extra")
            faces, other_faces = figures.get("faces"), other[source].get("faces")
            if isinstance(faces, int) and isinstance(other_faces, int) and faces != other_faces:
                raise ValueError(f"{source} at slider {scale}: {other_faces:,} faces in {candidate_path}, {faces:,} in "
                                 f"{base_path}: evaluate both on the same faces (no --limit)")
    return base, candidate


def shared_scales(base: dict, candidate: dict) -> list[str]:
    """The slider settings both files have, in the base file's order; ValueError when there are none."""
    scales = [s for s in base if s in candidate]
    if not scales:
        raise ValueError("the two files share no slider setting: evaluate both with the same --scales")
    return scales


def figure_changes(base: dict, candidate: dict, scales: list[str]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """{source: {figure: {"base": [...], "candidate": [...], "faces": [...]}}} over `scales`; "faces": the
    candidate's count each share is of at that setting (0 where the file does not say)."""
    out: dict = {}
    for scale in scales:
        for source, figures in base[scale].items():
            other = candidate[scale].get(source)
            if source == "overall" or not isinstance(figures, dict) or not isinstance(other, dict):
                continue
            for key in HEADLINE_FIGURES:
                if isinstance(figures.get(key), (int, float)) and isinstance(other.get(key), (int, float)):
                    pair = out.setdefault(source, {}).setdefault(key, {"base": [], "candidate": [], "faces": []})
                    pair["base"].append(float(figures[key]))
                    pair["candidate"].append(float(other[key]))
                    count = next((other[k] for k in DENOMINATOR_KEYS[key] if isinstance(other.get(k), int)), 0)
                    pair["faces"].append(count)
    return out


def mean_changes_points(changes: dict) -> dict[str, dict[str, float]]:
    """Each source's figures: candidate minus base, averaged over the slider settings, in percentage points."""
    return {source: {key: 100.0 * (sum(v["candidate"]) - sum(v["base"])) / len(v["base"])
                     for key, v in figures.items()}
            for source, figures in changes.items()}


def net_faces(figure: dict[str, list]) -> tuple[int, int]:
    """(face-readings gained minus lost, face-readings in all) over the settings of one `figure_changes` entry."""
    net = sum(round((c - b) * n) for b, c, n in zip(figure["base"], figure["candidate"], figure["faces"]))
    return net, sum(figure["faces"])


def paired_intervals(base_faces: Path, candidate_faces: Path, scales: list[str], draws: int = BOOTSTRAP_DRAWS,
                     seed: int = 0) -> dict[str, dict[str, tuple[float, float]]]:
    """{source: {figure: (low, high)}}: the 2.5th and 97.5th percentiles, in percentage points, of the
    six-setting mean's change when the faces are redrawn with replacement (the same draw for both files).
    ValueError when a file is missing or the two runs did not measure the same faces."""
    try:
        base, candidate = dict(np.load(base_faces)), dict(np.load(candidate_faces))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read per-face outcomes ({exc}): rerun classification.evaluate for both files")
    order = np.argsort(candidate["path"])
    if not np.array_equal(np.sort(base["path"]), candidate["path"][order]):
        raise ValueError("the two runs measured different faces: evaluate both on the same --split and --limit")
    rank = np.argsort(base["path"])
    rng = np.random.default_rng(seed)
    out: dict = {}
    for source in np.unique(base["source"]):
        mask = base["source"][rank] == source
        for key in HEADLINE_FIGURES:
            names = [f"{scale}/{key}" for scale in scales]
            if not all(n in base and n in candidate for n in names):
                continue
            b = np.stack([base[n][rank][mask] for n in names])
            c = np.stack([candidate[n][order][mask] for n in names])
            counted = np.isfinite(b[0])
            if not counted.any():
                continue
            diff = (c - b)[:, counted].sum(axis=0)  # per face, summed over the settings
            picks = rng.integers(0, diff.size, (draws, diff.size))
            means = 100.0 * diff[picks].sum(axis=1) / (diff.size * len(scales))
            out.setdefault(str(source), {})[key] = (float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5)))
    return out


def verdict(means: dict[str, dict[str, float]]) -> tuple[bool, list[str]]:
    """(better, reasons it is not): the shipping rule of the module docstring."""
    reasons = [f"{source} {SHORT_NAMES[key]} {delta:+.2f} points"
               for source, figures in means.items() for key, delta in figures.items() if delta < -TIE_POINTS]
    if not reasons and not any(delta > TIE_POINTS for figures in means.values() for delta in figures.values()):
        reasons = ["no figure is higher"]
    return not reasons, reasons


def band_verdict(intervals: dict[str, dict[str, tuple[float, float]]]) -> tuple[bool, list[str]]:
    """(better, reasons it is not): the `--rule band` gate of the module docstring, on `paired_intervals`."""
    reasons = [f"{source} {SHORT_NAMES[key]} 95% [{low:+.2f}, {high:+.2f}] lies below zero"
               for source, figures in intervals.items() for key, (low, high) in figures.items() if high < -TIE_POINTS]
    if not reasons and not any(low > TIE_POINTS for figures in intervals.values() for low, _ in figures.values()):
        reasons = ["no interval lies above zero"]
    return not reasons, reasons


RULES = ("strict", "band")


@dataclass
class Judgement:
    """A comparison's printed report, its verdict by the rule asked for, and the sum of the mean changes."""

    text: str
    better: bool
    sum_points: float   # breaks a tie between two candidates that are both better


def report(base_path: Path, candidate_path: Path, paired: bool = False, rule: str = "strict") -> tuple[str, bool]:
    judged = judge(base_path, candidate_path, paired, rule)
    return judged.text, judged.better


def judge(base_path: Path, candidate_path: Path, paired: bool = False, rule: str = "strict") -> Judgement:
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}: use one of {', '.join(RULES)}")
    paired = paired or rule == "band"
    base_file, candidate_file = read_comparable(base_path, candidate_path)
    base, candidate = base_file["by_scale"], candidate_file["by_scale"]
    scales = shared_scales(base, candidate)
    changes = figure_changes(base, candidate, scales)
    intervals = paired_intervals(Path(base_path).parent / PER_FACE_FILE, Path(candidate_path).parent / PER_FACE_FILE,
                                 scales) if paired else {}
    lines = [f"candidate {candidate_path} against {base_path}, slider settings {', '.join(scales)}", ""]
    lines.append(f"{'source':>9} {'figure':>9} " + " ".join(f"{s:>13}" for s in scales) + f" {'mean':>7}"
                 + "  net faces")
    means = mean_changes_points(changes)
    for source, figures in changes.items():
        for key, v in figures.items():
            cells = " ".join(f"{100 * b:5.1f}->{100 * c:5.1f}" for b, c in zip(v["base"], v["candidate"]))
            net, total = net_faces(v)
            lines.append(f"{source:>9} {SHORT_NAMES[key]:>9} {cells} {means[source][key]:+7.2f}"
                         + (f"  {net:+d} of {total:,}" if total else "")
                         + ("  95%% [%+.2f, %+.2f]" % intervals[source][key] if key in intervals.get(source, {}) else ""))
    if rule == "band":
        better, reasons = band_verdict(intervals)
        heading = "better beyond the 95% band (no interval below zero, one above)"
    else:
        better, reasons = verdict(means)
        heading = "better on every source"
    total = sum(delta for figures in means.values() for delta in figures.values())
    lines += ["", f"sum of the mean changes: {total:+.2f} points (breaks a tie between two candidates that are both better)",
              f"{heading}: " + ("yes" if better else "no (" + "; ".join(reasons) + ")")]
    return Judgement("\n".join(lines), better, total)


def _pct(value, bold: bool = False) -> str:
    if not isinstance(value, (int, float)):
        return ""
    text = f"{100 * value:.1f}%"
    return f"**{text}**" if bold else text


def _points(figures: dict | None, keys) -> str:
    figures = figures or {}
    return " / ".join(f"{100 * figures[k]:.1f}" if isinstance(figures.get(k), (int, float)) else "–" for k in keys)


def markdown_tables(base_path: Path, candidate_path: Path, base_name: str) -> str:
    """The model card's tables: the candidate's figures per source and pooled, the base's beside them."""
    base_file, candidate_file = read_comparable(base_path, candidate_path)   # side by side only the same faces
    base, candidate = base_file["by_scale"], candidate_file["by_scale"]
    scales = shared_scales(base, candidate)
    default = candidate_file.get("default_crop_scale")
    per_source = [f"| slider | source | faces | exact | 1-off | children exact | gender | "
                  f"{base_name}: exact / 1-off / children / gender |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    pooled_keys = ("one_off_acc", "children_exact_acc", "gender_acc")
    pooled = [f"| slider | 1-off | children exact | gender | {base_name}: 1-off / children / gender |",
              "| --- | --- | --- | --- | --- |"]
    for scale in scales:
        is_default = default is not None and abs(float(scale) - float(default)) < 1e-6
        bold_scale = f"**{scale}**" if is_default else scale
        sources = [(name, figures) for name, figures in candidate[scale].items()
                   if name != "overall" and isinstance(figures, dict)]
        for i, (source, figures) in enumerate(sources):
            label = f"**{scale} (default)**" if is_default and i == 0 else bold_scale
            cells = " | ".join(_pct(figures.get(k), is_default) for k in HEADLINE_FIGURES)
            per_source.append(f"| {label} | {SOURCE_NAMES.get(source, source)} | {figures.get('faces', 0):,} | {cells} | "
                              f"{_points(base[scale].get(source), HEADLINE_FIGURES)} |")
        overall = candidate[scale].get("overall", {})
        cells = " | ".join(_pct(overall.get(k), is_default) for k in pooled_keys)
        pooled.append(f"| {bold_scale} | {cells} | {_points(base[scale].get('overall'), pooled_keys)} |")
    return "\n".join(per_source + [""] + pooled)


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("candidate", type=Path, help="the candidate's metrics.json (classification.evaluate --out)")
    p.add_argument("--base", type=Path, default=WEIGHTS_DIR / "age_gender.metrics.json",
                   help="the shipped file's metrics (default: weights/age_gender.metrics.json)")
    p.add_argument("--markdown", metavar="BASE_NAME", default=None,
                   help="print the model card's tables instead, the base's figures in a column named BASE_NAME")
    p.add_argument("--paired", action="store_true",
                   help="add a 95%% paired-bootstrap interval to each mean (needs per_face.npz beside both files)")
    p.add_argument("--rule", choices=RULES, default="strict",
                   help="strict: no six-setting mean lower (the validation-split gate); band: no 95%% interval "
                        "wholly below zero, one wholly above (the test-split gate since session 19; implies --paired)")
    args = p.parse_args(argv)
    try:
        if args.markdown is not None:
            print(markdown_tables(args.base, args.candidate, args.markdown))
            return 0
        text, better = report(args.base, args.candidate, args.paired, args.rule)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0 if better else 1


if __name__ == "__main__":
    sys.exit(run_tool(main))
