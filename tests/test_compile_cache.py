"""JAX's persistent compilation cache: used when on, bypassed when off, the same numbers either way."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, child_env

import optbench
from optbench.errors import OptbenchError

RUN = ["run", "-p", "linear[n=40]", "-o", "gd[learning_rate=0.05]", "--seeds", "2", "--max-steps", "30"]


def _optbench(cache, *args, switch=None):
    env = child_env(cache)
    env.pop("OPTBENCH_COMPILE_CACHE", None)
    if switch is not None:
        env["OPTBENCH_COMPILE_CACHE"] = switch
    done = subprocess.run(
        [sys.executable, "-m", "optbench", *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def _files(cache):
    folder = cache / "jax"
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def test_a_second_process_reads_the_programs_back_and_computes_the_same_numbers(tmp_path):
    cache = tmp_path / "cache"
    said = _optbench(cache, *RUN, "--db", str(tmp_path / "first.sqlite"), "--no-progress")
    assert len(_files(cache)) >= 3  # init, chunk and final programs at least
    assert "s compiling 1 program" in said and "(0 read from the compilation cache)" in said  # where the time went
    said = _optbench(cache, *RUN, "--db", str(tmp_path / "second.sqlite"), "--no-progress")
    assert "s compiling 1 program" in said and "(1 read from the compilation cache)" in said
    first, second = (optbench.load_results(tmp_path / f"{name}.sqlite") for name in ("first", "second"))
    # The first run of each process compiled (or read) the program; the second reused it in memory.
    assert first.runs["cache_hit"].tolist()[0] is False and second.runs["cache_hit"].tolist()[0] is True
    assert second.runs["cache_hit"].isna().tolist() == [False, True]
    assert first.runs["fun"].tolist() == second.runs["fun"].tolist()
    np.testing.assert_array_equal(first.traces["loss"].to_numpy(), second.traces["loss"].to_numpy())


@pytest.mark.parametrize("how", ["variable", "flag"])
def test_switched_off_the_cache_is_neither_read_nor_written(tmp_path, how):
    cache = tmp_path / "cache"
    _optbench(cache, *RUN, "--db", str(tmp_path / "warm.sqlite"), "--no-progress")
    held = _files(cache)
    db = str(tmp_path / "off.sqlite")
    if how == "variable":
        _optbench(cache, *RUN, "--db", db, "--no-progress", switch="0")
    else:
        _optbench(cache, *RUN, "--db", db, "--no-progress", "--no-compile-cache")
    assert _files(cache) == held  # nothing written ...
    assert optbench.load_results(db).runs["cache_hit"].tolist()[0] is False  # ... and nothing read


def test_cache_info_and_clear(tmp_path):
    cache = tmp_path / "cache"
    assert "0 compiled programs" in _optbench(cache, "cache", "info")
    _optbench(cache, *RUN, "--db", str(tmp_path / "r.sqlite"), "--no-progress")
    n = sum(name.endswith("-cache") for name in _files(cache))  # each program has an -atime stamp too
    assert n >= 3
    assert f"{cache / 'jax'}: {n} compiled programs" in _optbench(cache, "cache", "info")
    assert f"cleared {cache / 'jax'}: {n} compiled programs" in _optbench(cache, "cache", "clear")
    assert _files(cache) == []
    assert "off (OPTBENCH_COMPILE_CACHE=0)" in _optbench(cache, "cache", "info", switch="0")


PROGRAM = "jit_step-" + "ab" * 32


def _fake_home(tmp_path):
    """A home folder of the audit's: private keys, a thesis, and two files named like a
    compiled program, one of them inside a subfolder."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("secret")
    (home / "thesis.tex").write_text("chapter 1")
    (home / f"{PROGRAM}-cache").write_bytes(b"x" * 10)
    (home / ".ssh" / f"{PROGRAM}-atime").write_bytes(b"1")
    return home


@pytest.mark.parametrize("where", ["home", "root"])
def test_cache_clear_refuses_a_folder_that_holds_anything_else(tmp_path, monkeypatch, capsys, where):
    from optbench.cli import main

    folder = _fake_home(tmp_path) if where == "home" else "/"
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(folder))
    before = sorted(p.relative_to(folder) for p in Path(folder).rglob("*")) if where == "home" else None
    assert main(["cache", "info"]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"{folder}: {1 if where == 'home' else 0} compiled programs") and "other entries" in said
    assert main(["cache", "clear"]) == 2
    error = capsys.readouterr().err
    assert "not only a compilation cache; nothing was deleted" in error and error.count("\n") == 1
    if where == "home":
        assert sorted(p.relative_to(folder) for p in Path(folder).rglob("*")) == before


def test_cache_clear_deletes_only_the_programs_jax_wrote(tmp_path, monkeypatch):
    from optbench.caches import compile_cache

    folder = tmp_path / "jax"
    folder.mkdir()
    outside = tmp_path / "precious"
    outside.write_text("keep")
    for name in (f"{PROGRAM}-cache", f"{PROGRAM}-atime", ".lockfile"):
        (folder / name).write_bytes(b"12345")
    (folder / f"jit_link-{'cd' * 32}-cache").symlink_to(outside)  # named like one, but a link: not followed
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(folder))
    with pytest.raises(OptbenchError, match="1 entry that JAX's cache did not write"):
        compile_cache.clear()
    (folder / f"jit_link-{'cd' * 32}-cache").unlink()
    assert compile_cache.clear()["entries"] == 1
    assert list(folder.iterdir()) == [] and outside.read_text() == "keep"


def test_library_runs_that_reuse_compiled_functions_report_no_compile_time():
    # As for native runs: compile_s is the time compiling (or reading from the cache), 0 on
    # reuse. Every scipy run reported its lookup time, so the default suite counted 60
    # "programs compiled" that were reuses.
    fits, _ = optbench.run("linear", ["scipy_bfgs", "scipy_lm"], seeds=3, max_steps=50)
    fronts, _ = optbench.run("zdt1", "pymoo_nsga2", seeds=3, max_evals=300)
    for runs in (fits, fronts):
        later = runs.sort_values("seed").groupby("optimizer")["compile_s"].apply(lambda s: s.iloc[1:].tolist())
        assert len(later) and all(value == 0.0 for values in later for value in values)


def test_library_runs_say_whether_their_functions_came_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    run = ["run", "-p", "linear[n=40]", "-p", "zdt1[n=5]", "-o", "scipy_bfgs", "-o", "pymoo_nsga2", "--seeds", "2"]
    run += ["--max-evals", "200", "--no-progress"]
    for name in ("first", "second"):
        _optbench(cache, *run, "--db", str(tmp_path / f"{name}.sqlite"))
    for name, expected in (("first", False), ("second", True)):
        runs = optbench.load_results(tmp_path / f"{name}.sqlite").runs
        ran = runs[runs["status"] != "skipped"].sort_values(["optimizer", "seed"])
        assert ran.groupby("optimizer")["cache_hit"].apply(list).to_dict() == {
            "pymoo_nsga2": [expected, pd.NA],
            "scipy_bfgs": [expected, pd.NA],
        }
