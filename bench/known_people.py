"""Shown labels against the truth, on real footage of people whose gender and age are public record:
`python -m bench.known_people DIR` (DIR from `python -m bench.real_clips DIR`).

Why: the classifier's test splits come from the same three sources as its training faces, and figures on
them were far kinder than on faces from elsewhere. These four talking heads (512 px HDTF clips, see
`bench.real_clips`) are broadcast video from none of those sources, with hair, shoulders and studio
background around the face. Each person's gender and age group follow from their public birth date and
the years the clip can date from; the clips are named by the person, so no face is identified here.

For each face-extraction setting the app's own analyzer plays each clip as the app plays a file (tracked,
every shown face labelled) and the bench reads what the tag shows, frame by frame, for the largest face:
gender right / wrong / "?", age group right (one of the groups the person's age allows) / within one
group / wrong / "?". Four people are a sanity check, not a benchmark: one wrong clip is 25 points. What it
catches is the failure a user sees at once, an adult shown as a child for a whole clip, or a slider
setting that turns adults into 0-2.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.bench import shown_label
from classification.evaluate import EVAL_SCALES as SETTINGS   # the slider settings the test splits are read at
from core.cli import OneLineParser, check_writable, number_in, run_tool
from core.config import CROP_SCALE_RANGE, AppConfig
from core.geometry import area
from core.labels import AGE_GROUPS


@dataclass(frozen=True)
class KnownPerson:
    clip: str                 # file name in the folder `bench.real_clips` fills
    gender: str               # "female" / "male"
    age_groups: tuple         # Adience groups the person's age at recording allows
    why: str                  # where the truth comes from

    def age_verdict(self, shown: str | None) -> str:
        """'right', 'one off', 'wrong' or '?' for the age group a tag shows."""
        if shown is None:
            return "?"
        if shown in self.age_groups:
            return "right"
        index = AGE_GROUPS.index(shown)
        near = any(abs(index - AGE_GROUPS.index(g)) == 1 for g in self.age_groups)
        return "one off" if near else "wrong"


# HDTF (Zhang et al., CVPR 2021) kept only 720p and 1080p YouTube videos, so none predates 2009; the paper
# came out in 2021. WDA = the Democrats' weekly address.
KNOWN = (
    KnownPerson("WDA_AlexandriaOcasioCortez_000.mp4", "female", ("25-32",),
                "born October 1989, in Congress from January 2019, clip from before 2021: 29-31"),
    KnownPerson("WDA_KatieHill_000.mp4", "female", ("25-32",),
                "born August 1987, in Congress January-November 2019: 31-32"),
    KnownPerson("WDA_BobMenendez_000.mp4", "male", ("48-53", "60-100"),
                "born January 1954, clip from 2009-2021: 55-67 (54-59 lies between two groups; both count)"),
    KnownPerson("WDA_EdMarkey0_000.mp4", "male", ("60-100",),
                "born July 1946, clip from 2009-2021: 62-75"),
)


def read_clip(analyzer, path: Path) -> list:
    """The largest shown face of each frame (None where no face is shown), the app's way: tracked."""
    from pipeline.sources import open_source
    analyzer.reset()
    source = open_source(str(path))
    try:
        shown = []
        for frame in source.frames():
            faces = [f for f in analyzer.track(frame) if f.is_classified]
            shown.append(max(faces, key=lambda f: area(f.box), default=None))
        return shown
    finally:
        source.close()


def tally(person: KnownPerson, faces: list) -> dict:
    """Share of the clip's frames (in %) by verdict, for gender and for the age group."""
    from collections import Counter
    frames = len(faces)
    tags = Counter()
    gender = {"right": 0, "wrong": 0, "?": 0, "no label": 0}
    age = {"right": 0, "one off": 0, "wrong": 0, "?": 0, "no label": 0}
    for face in faces:
        if face is None:
            gender["no label"] += 1
            age["no label"] += 1
            continue
        shown_gender, shown_age = shown_label(face)   # what the tag reads, "?" for an unsure part
        tags[f"{shown_gender[0].upper()} {shown_age}"] += 1
        gender["?" if shown_gender == "?" else "right" if shown_gender == person.gender else "wrong"] += 1
        age[person.age_verdict(None if shown_age == "?" else shown_age)] += 1
    percent = lambda counts: {k: round(100.0 * v / max(frames, 1), 1) for k, v in counts.items()}  # noqa: E731
    return {"frames": frames, "gender": percent(gender), "age": percent(age),
            "most_shown": tags.most_common(1)[0][0] if tags else None}


def measure(folder: Path, settings=SETTINGS, config: AppConfig | None = None) -> dict:
    """{setting: {clip: tally}} for the clips of `KNOWN` in `folder` (FileNotFoundError when none is)."""
    from pipeline.analyzer import FaceAnalyzer
    present = [p for p in KNOWN if (folder / p.clip).is_file()]
    if not present:
        raise FileNotFoundError(f"none of the clips {', '.join(p.clip for p in KNOWN)} is in {folder}: "
                                f"run `python -m bench.real_clips {folder}` first")
    for person in KNOWN:
        if person not in present:
            print(f"warning: {person.clip} missing from {folder}; measuring the others", file=sys.stderr)
    analyzer = FaceAnalyzer(config or AppConfig())
    analyzer.configure(realtime=False)   # a file, as the app plays one: every shown face labelled
    results = {}
    for setting in settings:
        analyzer.configure(crop_scale=setting)
        results[f"{setting:.1f}"] = {p.clip: tally(p, read_clip(analyzer, folder / p.clip)) for p in present}
    return results


def pooled(by_clip: dict, part: str, verdict: str) -> float:
    """A verdict's share of frames over all clips of one setting, each clip weighted by its frames."""
    frames = sum(t["frames"] for t in by_clip.values())
    return sum(t[part][verdict] * t["frames"] for t in by_clip.values()) / max(frames, 1)


def report(results: dict) -> str:
    lines = ["setting  gender right / wrong / ?     age right / one off / wrong / ?   (% of frames, all clips)"]
    for setting, by_clip in results.items():
        g = [pooled(by_clip, "gender", v) for v in ("right", "wrong", "?")]
        a = [pooled(by_clip, "age", v) for v in ("right", "one off", "wrong", "?")]
        lines.append(f"  {setting}   {g[0]:5.1f} / {g[1]:5.1f} / {g[2]:5.1f}      "
                     f"{a[0]:5.1f} / {a[1]:5.1f} / {a[2]:5.1f} / {a[3]:5.1f}")
    lines.append("")
    lines.append(f"the tag shown longest in each clip, at {', '.join(results)}; truth after the name:")
    for person in KNOWN:
        cells = [f"{by_clip[person.clip]['most_shown'] or '-':9s}" for by_clip in results.values()
                 if person.clip in by_clip]
        if cells:
            truth = f"{person.gender[0].upper()} {'/'.join(person.age_groups)}"
            lines.append(f"  {Path(person.clip).stem:32s} {truth:14s} {' '.join(cells)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    p.add_argument("clips", type=Path, help="folder filled by `python -m bench.real_clips`")
    p.add_argument("--classifier", type=Path, default=None, help="a candidate .tflite instead of the shipped file")
    p.add_argument("--trust-checkpoints", action="store_true",
                   help="allow a .keras --classifier (it can run code when loaded: only your own files)")
    p.add_argument("--settings", type=number_in(*CROP_SCALE_RANGE), nargs="+", default=list(SETTINGS),
                   help="face-extraction sizes to measure")
    p.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    args = p.parse_args(argv)
    if not args.clips.is_dir():
        raise FileNotFoundError(f"no folder {args.clips}: run `python -m bench.real_clips {args.clips}` first")
    if args.out is not None:
        check_writable(args.out, args.overwrite)
    config = AppConfig().changed(classifier_weights=args.classifier, trust_checkpoints=args.trust_checkpoints)
    results = measure(args.clips, tuple(args.settings), config)
    print(report(results))
    if args.out is not None:
        args.out.write_text(json.dumps({"truth": {p.clip: {"gender": p.gender, "age_groups": p.age_groups,
                                                            "why": p.why} for p in KNOWN},
                                        "by_setting": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
