"""What every command-line tool shares, so that bad input gets one line saying what to do, never a traceback.

* `number_in`, `positive`: argparse types that refuse NaN, infinities and out-of-range numbers by name
  (`--lr nan` used to train a model of NaNs, `--batch 0` failed after a minute inside TensorFlow).
* `refuse_existing`: a file or folder the tool would write is already there: refuse unless told to replace
  it (`detection.quantize` used to overwrite the shipped detector, `pack_data` to delete a folder's data).
* `run_tool`: runs a tool's `main(argv)` and turns the errors that mean "bad input" into `error: ...` and
  exit status 2; anything else is a bug and keeps its traceback.
* `OneLineParser`: argparse whose refusals are that same one line, naming the `--help` command to run.
"""
from __future__ import annotations

import argparse
import math
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from core.errors import SourceError, WeightsError

EXIT_BAD_INPUT = 2
# what ends a run politely (Ctrl-C, `kill`, a closed terminal): headless runs and the window finish their
# outputs on these instead of dying mid-frame
EXIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def catch_exit_signals(handler: Callable[[int, object], None]) -> dict:
    """`handler` for each of EXIT_SIGNALS that the process was not started to ignore: under `nohup` (SIGHUP
    ignored) or as a background job of a script (SIGINT ignored) a run must go on as the user asked, not end
    when the terminal closes. Returns the handlers it replaced, to put back with `signal.signal`."""
    return {sig: signal.signal(sig, handler) for sig in EXIT_SIGNALS if signal.getsignal(sig) is not signal.SIG_IGN}

# Raised by this project's own checks with messages written for the user (core.errors), and by the
# file system for a path that is missing or in the way: each message names the path.
BAD_INPUT_ERRORS = (WeightsError, SourceError, FileNotFoundError, FileExistsError, NotADirectoryError,
                    IsADirectoryError, PermissionError)


def command_of(prog: str) -> str:
    """How the user started the program: `python -m pkg.tool` for a module run with -m (argparse's own
    prog is then just `tool.py`), `python main.py` for a script, the console script's name otherwise."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name and Path(prog).stem in (spec.name.rsplit(".", 1)[-1], "__main__"):
        return f"python -m {spec.name.removesuffix('.__main__')}"
    return f"python {prog}" if prog.endswith(".py") else prog


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a refusal is one line (`error: ... (see `python -m tool --help`)`), exit status 2,
    instead of the usage block followed by a second line."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.command = command_of(self.prog)
        if "prog" not in kwargs and self.command.startswith("python -m "):
            self.prog = self.command  # --help's usage line then shows the command too

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see `{self.command} --help`)\n")


def _number(text: str, kind):
    """`text` as a `kind` (float or int), else argparse's one-line error; the callers refuse NaN and infinities."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None


def number_in(low: float, high: float, kind=float):
    """An argparse type: a finite number within [low, high], else a one-line error naming the range."""
    def parse(text: str):
        value = _number(text, kind)
        if math.isnan(value):
            raise argparse.ArgumentTypeError(f"{text} is not a number: give one within {low:g}-{high:g}")
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low:g}-{high:g}")
        return value
    return parse


def positive(kind=float):
    """An argparse type: a finite number > 0 (an int >= 1 for `kind=int`)."""
    def parse(text: str):
        value = _number(text, kind)
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not a positive number")
        return value
    return parse


def some_names(paths: list[Path], shown: int = 3) -> str:
    """The first `shown` file names of `paths` for a one-line message, with ", ..." when there are more."""
    return ", ".join(p.name for p in paths[:shown]) + (", ..." if len(paths) > shown else "")


def path_name(text: str) -> str:
    """An argparse type for a path the tool writes: not empty or blank (an unset shell variable, say), which
    would otherwise run the whole input and save nothing."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name: give a file or folder path")
    return text


def refuse_existing(path: str | Path, overwrite: bool, flag: str = "--overwrite") -> None:
    """FileExistsError naming `path` and `flag` when something is already at `path` and `overwrite` is off."""
    path = Path(path)
    if path.exists() and not overwrite:
        kind = "a folder" if path.is_dir() else "a file"
        raise FileExistsError(f"{path} is already there ({kind}) and was kept: choose a new path, or pass {flag} "
                              f"to replace it")


def check_can_write(path: str | Path, what: str, folder: bool = False) -> None:
    """Raise OutputError now, before any work, if `path` (a file, or a folder with `folder`) cannot be written.

    Walks up to the nearest existing folder and really creates a scratch file there: permission bits
    alone say nothing for root or for a read-only mount.
    """
    from core.errors import OutputError
    path = Path(path)
    if path.exists() and path.is_dir() != folder:
        kind = "a folder" if path.is_dir() else "a file"
        raise OutputError(f"The {what} {path} is {kind}: give a {'folder' if folder else 'file name'} instead.")
    existing = path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"Cannot write the {what} {path}: {existing} is a file, not a folder. "
                          f"Choose a path in a folder.")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise OutputError(f"Cannot write the {what} {path}: no file can be created in {existing} ({exc.strerror}). "
                          f"Choose a folder you can write to.") from exc


def check_writable(path: str | Path, overwrite: bool, flag: str = "--overwrite") -> None:
    """Before any work, for a file a tool writes at the end into an existing folder: `check_can_write` (a
    folder in its way, a folder that cannot be written), then `refuse_existing`."""
    from core.errors import OutputError
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputError(f"no folder {path.parent} for {path}: make it first, or choose another path")
    check_can_write(path, "output file")
    refuse_existing(path, overwrite, flag)


def check_writable_folder(folder: str | Path) -> None:
    """Before any work, for a folder a tool makes and fills at the end (`check_can_write`)."""
    check_can_write(folder, "output folder", folder=True)


def run_tool(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """`main(argv)`, with bad input reported as one `error:` line on stderr and exit status 2, and Ctrl-C as
    one line and status 130 instead of a traceback."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C): files finished before it are kept; classification.train continues when its "
              "command is rerun, detection.train with --resume", file=sys.stderr)
        return 128 + signal.SIGINT
    except BAD_INPUT_ERRORS as exc:
        if isinstance(exc, OSError) and exc.filename and exc.strerror:  # raised by the OS: say which path
            message = f"{exc.strerror}: {exc.filename} (check the path, or see --help)"
        else:
            message = str(exc)
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
