"""The public clips the label-stability benchmark is measured on: `python -m bench.real_clips DIR`.

Why a list and no media: the clips belong to their authors (licences below, as their repositories state
them) and are used for measurement only, so none is committed. Each entry pins a repository, a commit and
a path; this command copies them into DIR (from local git clones or mirrors of those repositories) under
the names `python -m bench.bench --real-clips DIR` expects, with each clip's hard cuts (frame indices,
counted from 0, of the first frame of each new shot; found by eye on contact sheets, and the bench's own
identity tracker restarts there).
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.cli import OneLineParser, run_tool

INTEL = ("intel-iot-devkit/sample-videos", "57978890822836f2b4743852f04f62fc511757e4", "CC BY 4.0")
SADTALKER_TEST = ("OpenTalker/SadTalker", "68651ebaa6fedad57ca9c878221f9b57212040cb", "Apache-2.0 (repository)")
SADTALKER = ("OpenTalker/SadTalker", "cd4c0465ae0b54a6f85af57f5c65fec9fe23e7f8", "Apache-2.0 (repository)")
RETALKING = ("OpenTalker/video-retalking", "d32e8e58248255e2d243eeaf3cba545dbe505ca8", "Apache-2.0 (repository)")
FACENET = ("timesler/facenet-pytorch", "787da06156087cd6b616fe6608213722bddc30cd", "MIT (repository)")
PEXELS = ("mubtasimfuad/video-feature-extraction", "b9134eeb203940baad233b14061a1889c236359d",
          "Pexels licence (its README: 'Source: Pexels'; no repository licence)")


@dataclass(frozen=True)
class RealClip:
    name: str                 # file name in DIR
    source: tuple             # (owner/repo, commit, licence)
    path: str                 # path inside the repository
    cuts: tuple = ()          # frame indices where a new shot starts
    what: str = ""

    def spec(self, folder: Path) -> str:
        """`PATH[:CUT,CUT]` as `bench.bench --real-clip` takes it."""
        cuts = ",".join(str(c) for c in self.cuts)
        return f"{folder / self.name}{':' + cuts if cuts else ''}"


_ASL_WORDS = ("again bird book brother eat help hungry learn milk night no please school sister sorry student "
              "thanks walk want yes").split()

CLIPS: tuple[RealClip, ...] = (
    # session 8's clips: small faces, no cuts
    *(RealClip(f"{n}.gif", INTEL, f"preview/{n}.gif", what="2-5 s preview GIF") for n in (
        "head-pose-face-detection-female-and-male", "head-pose-face-detection-female",
        "head-pose-face-detection-male", "face-demographics-walking", "face-demographics-walking-and-pause",
        "classroom")),
    RealClip("one-by-one-person-detection.mp4", INTEL, "one-by-one-person-detection.mp4",
             what="139 s, walkers whose faces the detector finds on at most 2 frames in a row"),
    # mid-shots of one person signing, hands moving in front of the body; faces 50-65 px
    *(RealClip(f"asl_{w}.mkv", INTEL, f"asl_gestures/{w}.mkv", what="one person signing, 1.6-3.6 s")
      for w in _ASL_WORDS),
    # close-up talking heads (addresses and interviews, 512-844 px squares, faces 190-270 px), one each
    *(RealClip(f"{n}.mp4", SADTALKER_TEST, f"test/examples/source_image/{n}.mp4", what="8 s talking head")
      for n in ("RD_Radio2_000", "RD_Radio34_000", "WDA_BobMenendez_000", "WDA_EdMarkey0_000")),
    *(RealClip(f"{n}.mp4", SADTALKER, f"examples/ref_video/{n}.mp4", what="8 s talking head")
      for n in ("WDA_AlexandriaOcasioCortez_000", "WDA_KatieHill_000")),
    *(RealClip(f"retalking_{i}.mp4", RETALKING, f"examples/face/{i}.mp4", what="5-6.6 s talking head")
      for i in range(1, 6)),
    # several people walking towards the camera, a teenager among them, 1080p, faces 20-120 px
    RealClip("facenet_video.mp4", FACENET, "examples/video.mp4", what="4.2 s street, 5-8 people"),
    # an edited fashion reel: 14 hard cuts and flash transitions, one or two people per shot, portrait 1080p
    RealClip("sample_video_for_scene_cut.mp4", PEXELS, "videos/sample_video_for_scene_cut.mp4",
             cuts=(27, 29, 48, 52, 55, 57, 59, 62, 129, 132, 142, 145, 160, 161), what="5.9 s, hard cuts"),
)


def _git_dir(root: Path, repo: str) -> Path | None:
    """A clone or mirror of `owner/name` under `root`: owner+name/repo (mirror), owner+name, name or
    owner/name (plain clones)."""
    owner, name = repo.split("/")
    for candidate in (root / f"{owner}+{name}" / "repo", root / f"{owner}+{name}", root / name, root / owner / name):
        if (candidate / ".git").is_dir():
            return candidate / ".git"
        if (candidate / "objects").is_dir():
            return candidate
    return None


def extract(root: Path, out: Path) -> list[str]:
    """Copy every clip into `out`; returns the problems (one line per missing clone, and per clip that could
    not be copied or differs from its source). A clip already there is checked against its source, never
    replaced: a damaged copy is named, for the user to delete."""
    out.mkdir(parents=True, exist_ok=True)
    problems, missing_repos = [], set()
    for clip in CLIPS:
        repo, commit, _ = clip.source
        target = out / clip.name
        git_dir = _git_dir(root, repo)
        if git_dir is None:
            if not target.exists() and repo not in missing_repos:
                missing_repos.add(repo)
                problems.append(f"no clone of {repo} under {root}; run `git clone https://github.com/{repo} "
                                f"{root / repo.split('/')[1]}` (or pass --repos) and retry")
            continue
        blob = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{clip.path}"], capture_output=True)
        if blob.returncode != 0:
            if not target.exists():
                problems.append(f"{clip.name}: {repo}@{commit[:10]}:{clip.path} not readable "
                                f"({blob.stderr.decode().strip()}); fetch that commit into the clone and retry")
            continue
        if target.exists():
            if target.read_bytes() != blob.stdout:
                problems.append(f"{target} differs from {repo}@{commit[:10]}:{clip.path} (damaged, or another "
                                f"file of that name) and was kept: delete it and rerun to copy the clip again")
            continue
        target.write_bytes(blob.stdout)
    return problems


def specs(folder: Path) -> list[str]:
    """`--real-clip` specs of the listed clips present in `folder` (a missing one is named on stderr)."""
    present = []
    for clip in CLIPS:
        if (folder / clip.name).exists():
            present.append(clip.spec(folder))
        else:
            print(f"warning: {clip.name} missing from {folder}: run `python -m bench.real_clips {folder}`",
                  file=sys.stderr)
    return present


def main(argv=None) -> int:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, nargs="?", help="folder to copy the clips into (not needed with --list)")
    p.add_argument("--repos", type=Path, default=Path("/work/.mirror"),
                   help="folder holding clones of the source repositories (default: %(default)s)")
    p.add_argument("--list", action="store_true", help="only print the clips and their sources")
    args = p.parse_args(argv)
    if args.out is None and not args.list:
        p.error("give the folder to copy the clips into (e.g. /tmp/clips), or --list")
    if args.out is not None and args.out.exists() and not args.out.is_dir() and not args.list:
        raise FileExistsError(f"{args.out} is a file, not a folder: give a folder to copy the clips into "
                              f"(it is made if missing; clips already there are kept)")
    if args.list:
        for clip in CLIPS:
            repo, commit, licence = clip.source
            print(f"{clip.name:<44} {repo}@{commit[:10]}:{clip.path}  [{licence}] cuts={list(clip.cuts)} {clip.what}")
        return 0
    problems = extract(args.repos, args.out)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        return 1
    print(f"all {len(CLIPS)} clips are in {args.out}; measure them with:")
    print(f"python -m bench.bench --stability-only --skip-startup --real-clips {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_tool(main))
