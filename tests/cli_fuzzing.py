"""Whole command lines, generated: every subcommand with random flags and hostile values.

Shared by ``test_fuzz_cli.py`` (the property test) and ``fuzz_counts.py --cli`` (counts for
a report). A command line must end in exit 0 or in one clear error (exit 2, one line
under 1,000 characters), never a traceback and never a hang. The flags and their choices
are read from optbench's own argument parser, so a new flag is fuzzed the day it is added.

Runs are planned and checked but not executed (``optbench.execute.execute`` is replaced by
a stand-in that stops the command there, counted as accepted): the property is about input, which must be refused
before any work; what a run does is the other tests'. Paths are relative to a scratch
folder, which holds a small results database, an empty file, a text file, a folder, a
FIFO and a plugin folder; no value names a place outside it (devices are
``test_hostile_paths.py``'s: under a faulty optbench, ``--output /dev/null`` replaced the device).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import threading
from pathlib import Path

from hypothesis import strategies as st

from optbench.cli import main
from optbench.cli.parser import build_parser

HANG_S = 30.0
DB = "results/optbench.sqlite"
# Paths a user might give, good and bad; each exists (or not) in the scratch folder.
PATHS = [
    DB, DB, DB, "missing.sqlite", "-", " ", "", "dir/", "folder", "empty.sqlite", "notes.txt", "fifo",
    "out/", "results", "runs.csv", "report.html", "plot.png", "x.pdf", "new/deep/file.png", "é.sqlite",
]  # fmt: skip
NUMBERS = [
    "0", "1", "2", "3", "-1", "1.5", "1e20", "2147483648", "inf", "nan", "-inf", "1e-300", "１", "٣", "0x10", "1_000",
    "", " ", "abc", "9" * 400, "20", "50", "0.5", "100",
]  # fmt: skip
SPECS = [
    "linear", "quadratic", "gd", "adam", "nelder_mead", "lm", "adam[learning_rate=[0.1,0.01]]", "linear[n=30]",
    "nope", "adam[", "gd[learning_rate=-1]", "x" * 3000, "🙂", "", "sgd[batch_size=0]", "zdt1", "nsga2",
]  # fmt: skip
TEXT = ["", " ", "-", "--", "local", "local:", "inproc://", "tls://127.0.0.1:1", "🙂", "a" * 5000, "default", "none"]
CHOICE_JUNK = ["", "nope", "ECDF", "🙂"]


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _value(action: argparse.Action) -> st.SearchStrategy[str]:
    """Hostile values for one option, shaped by what it takes."""
    flag = action.option_strings[0] if action.option_strings else action.dest
    if action.choices:
        return st.one_of(st.sampled_from([str(c) for c in action.choices]), st.sampled_from(CHOICE_JUNK))
    if any(word in flag for word in ("db", "output", "plugins")) or action.dest == "suite":
        extra = ["default", "missing.toml", "notes.txt"] if action.dest == "suite" else []
        return st.sampled_from(PATHS + extra)
    if flag in ("-p", "--problem", "-o", "--optimizer", "name"):
        return st.one_of(st.sampled_from(SPECS), st.text(max_size=12))
    if action.type in (int, float) or getattr(action.type, "__name__", "") in ("whole", "real"):
        return st.one_of(st.sampled_from(NUMBERS), st.integers(-(10**12), 10**12).map(str))
    return st.one_of(st.sampled_from(TEXT + NUMBERS), st.text(max_size=12))


@st.composite
def command_lines(draw) -> list[str]:
    """A command line: a subcommand, its positional arguments, then up to six options (or,
    now and then, raw words)."""
    commands = subparsers()
    if draw(st.integers(0, 19)) == 0:
        return draw(st.lists(st.sampled_from([*commands, "--help", "-x", "🙂", "", "run", "--db"]), max_size=4))
    name = draw(st.sampled_from(sorted(commands)))
    sub = commands[name]
    argv = [name]
    options = [a for a in sub._actions if a.option_strings and a.dest != "help"]
    for action in (a for a in sub._actions if not a.option_strings):
        if action.nargs != "?" or draw(st.booleans()):
            argv.append(draw(_value(action)))
    if name == "run" and draw(st.integers(0, 3)) > 0:  # most runs name what to run
        argv += ["-p", draw(st.sampled_from(SPECS[:8])), "-o", draw(st.sampled_from(SPECS[:8]))]
    for action in draw(st.lists(st.sampled_from(options), max_size=6)) if options else []:
        argv.append(draw(st.sampled_from(action.option_strings)))
        if action.nargs != 0:
            argv.append(draw(_value(action)))
    return argv


def scratch_folder(root: Path) -> Path:
    """The folder the command lines run in: a results database of 8 small runs (2
    optimizers x 2 seeds x 2 problems), an empty file, a text file, a folder, a FIFO, a
    plugin folder."""
    from optbench.budget import Budget
    from optbench.execute import execute
    from optbench.execute.plan import plan
    from optbench.store import ResultStore

    root.mkdir(parents=True, exist_ok=True)
    (root / "results").mkdir(exist_ok=True)
    with ResultStore(root / DB) as store:
        execute(plan(["linear", "quadratic"], ["gd", "nelder_mead"], 2, Budget(max_steps=30)), store)
    (root / "empty.sqlite").touch()
    (root / "notes.txt").write_text("not a database\n")
    (root / "folder").mkdir(exist_ok=True)
    (root / "runs.csv").mkdir(exist_ok=True)  # a folder named like an export file
    fifo = root / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    return root


def reset(root: Path, pristine: bytes) -> None:
    """Put the scratch folder back as it was before the last command line."""
    keep = {"results", "empty.sqlite", "notes.txt", "folder", "runs.csv", "fifo"}
    for entry in root.iterdir():
        if entry.name not in keep:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for entry in (root / "results").iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    (root / DB).write_bytes(pristine)
    (root / "empty.sqlite").write_bytes(b"")


class _Stop(BaseException):
    pass


class _Planned(BaseException):
    """Raised where a run would start: every check passed."""


def _planned(*args, **kwargs):
    raise _Planned


def _open_and_close(fifo: Path) -> None:
    with contextlib.suppress(OSError):  # nobody was reading it
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def command_outcome(argv: list[str], root: Path) -> str:
    """What ``optbench ARGV`` did in ``root``: "accepted" (exit 0), "clear error" (exit 2
    with one short line), "unclear error: ..." (exit 2 with more, or a huge line),
    "traceback: ...", "exit N" or "hang" (stopped after ``HANG_S``)."""
    import signal

    from optbench import execute as runner

    def stop(signum, frame):
        raise _Stop

    stderr, stdout = io.StringIO(), io.StringIO()
    real_execute = runner.execute
    runner.execute = _planned  # planned and checked, not run
    previous = signal.signal(signal.SIGALRM, stop)
    cwd = os.getcwd()
    os.chdir(root)
    # A read of the FIFO blocks inside C, where no signal handler runs: at the deadline a
    # writer opens it and goes, the read ends, and the alarm just after counts the hang.
    poke = threading.Timer(HANG_S, _open_and_close, [root / "fifo"])
    poke.start()
    signal.setitimer(signal.ITIMER_REAL, HANG_S + 0.5)
    try:
        try:
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
                code = main(argv)
        except _Planned:
            code = 0
        except SystemExit as done:  # argparse's own usage errors and --help
            code = done.code if isinstance(done.code, int) else 2
        except Exception as err:
            detail = err.args[0] if err.args and isinstance(err.args[0], str) else ""
            return f"traceback: {type(err).__name__}: {detail[:100]}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            poke.cancel()
    except _Stop:
        return "hang"
    finally:
        signal.signal(signal.SIGALRM, previous)
        runner.execute = real_execute
        os.chdir(cwd)
    said = stderr.getvalue()
    if "Traceback" in said:
        return "traceback: " + said.strip().splitlines()[-1][:100]
    if code == 0:
        return "accepted"
    lines = [line for line in said.split("\n") if line.strip()]  # a terminal breaks lines at \n only
    # One message: "optbench: error: ..." (a spec's adds the spec and a caret under the
    # spot), or argparse's usage line and its error.
    one = lines and (
        (lines[0].startswith("optbench: error:") and len(lines) in (1, 3)) or lines[0].startswith("usage:")
    )
    if code == 2 and one and max(len(line) for line in lines) <= 1000:
        return "clear error"
    if code == 2:
        return f"unclear error: {len(lines)} lines, the last {len(lines[-1]) if lines else 0} characters"
    return f"exit {code}"
