"""COCO's BBOB functions through cocoex, budgets per dimension, and the COCO export read
back by COCO's own post-processing (cocopp), whose aRT must equal optbench's ERT."""

import dataclasses
import sqlite3
import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import refused

import optbench
from optbench.analysis.fixed_target import ert
from optbench.analysis.targets import hitting_times
from optbench.budget import Budget
from optbench.cli import main
from optbench.registry import REGISTRY

cocoex = pytest.importorskip("cocoex", reason="coco-experiment is not installed (pip install 'optbench[suites]')")

PRECISIONS = [1e1, 1e-1, 1e-3, 1e-5, 1e-8]


@pytest.mark.parametrize("function", [1, 8])
@pytest.mark.parametrize("dim", [2, 10])
def test_bbob_problems_are_cocos_functions_with_their_optimum(function, dim):
    problem = REGISTRY.problem(f"bbob_f{function}[dim={dim},instance=2]")
    reference = cocoex.BareProblem("bbob", function, dim, 2)
    points = np.random.default_rng(0).uniform(-5, 5, (7, dim))
    np.testing.assert_array_equal(problem.black_box.values(points), reference(points))
    assert problem.f_opt == reference.best_value()
    assert problem.black_box.value(np.asarray(problem.x_opt)) == pytest.approx(problem.f_opt, abs=1e-12)
    assert problem.capabilities == {"value"} and problem.n_params == dim


# Under COCO's customary budget of 1,000 x dim evaluations, from the seed's start in [-4, 4]^n.
# scipy's Nelder-Mead at its defaults stalls on f8 (Rosenbrock) in 10-D (at f - f_opt = 90.5
# on instance 1); with adaptive coefficients (Gao & Han 2012), as native nelder_mead uses, it
# does not.
REACH = [
    ("nelder_mead", 1, 2),
    ("nelder_mead", 8, 2),
    ("nelder_mead", 1, 10),
    ("nelder_mead", 8, 10),
    ("scipy_nelder_mead", 1, 2),
    ("scipy_nelder_mead", 8, 2),
    ("scipy_nelder_mead", 1, 10),
    ("scipy_nelder_mead[adaptive=true]", 8, 10),
]


@pytest.mark.parametrize("optimizer,function,dim", REACH)
def test_simplex_methods_reach_bbob_targets_under_the_default_budget(optimizer, function, dim):
    spec = f"bbob_f{function}[dim={dim}]"
    result = optbench.minimize(spec, optimizer, max_evals_per_dim=1000)
    problem = REGISTRY.problem(spec)
    assert result.nfev <= 1000 * dim + dim + 1  # a native step may end past the budget by its own evaluations
    assert result.fun - problem.f_opt <= (1e-7 if dim == 10 and "scipy" in optimizer else 1e-8)


def test_a_budget_per_dimension_is_the_same_budget_for_every_size():
    budget = Budget(max_evals_per_dim=1000)
    assert budget.for_problem(5).max_evals == 5000 and budget.for_problem(5).max_evals_per_dim is None
    assert Budget(max_evals=3000, max_evals_per_dim=1000).for_problem(5).max_evals == 3000
    runs = optbench.run(["bbob_f1[dim=2]", "bbob_f1[dim=5]"], "scipy_nelder_mead[xatol=1e-12,fatol=1e-12]",
                        max_evals_per_dim=50).runs  # fmt: skip
    assert sorted(runs["nfev"]) == [100, 250]  # each spent its own 50 x n
    assert runs["budget"].nunique() == 1  # one budget: the two sizes pool in views


def test_sharing_programs_between_bbob_functions_changes_no_number():
    """Functions of one dimension share compiled programs (the data says which function);
    each run equals the same run on a plain black box of cocoex's function, which shares
    nothing."""
    specs = ["bbob_f3[dim=2,instance=4]", "bbob_f7[dim=2,instance=5]", "bbob_f12[dim=2,instance=6]"]
    together = optbench.run(specs, ["nelder_mead", "ga"], max_evals_per_dim=200).runs
    together = together.set_index(["problem", "optimizer"])
    for k, spec in enumerate(specs):
        shared = REGISTRY.problem(spec)
        function, instance = [(3, 4), (7, 5), (12, 6)][k]
        plain = optbench.black_box_problem(
            f"plain_bbob_{k}", cocoex.BareProblem("bbob", function, 2, instance), search_box=([-5, -5], [5, 5]),
            vectorized=True,
        )  # fmt: skip
        alone_problem = dataclasses.replace(plain, init=shared.init)  # the same starts: uniform in [-4, 4]^2
        for name in ["nelder_mead", "ga"]:
            alone = optbench.minimize(alone_problem, name, max_evals_per_dim=200)
            row = together.loc[(spec, name)]
            assert (alone.fun, alone.nfev) == (row["fun"], row["nfev"])


@pytest.mark.parametrize(
    "spec,message",
    [("bbob_f25", "unknown problem 'bbob_f25'"), ("bbob_f1[dim=4]", "dimensions are 2, 3, 5, 10, 20, 40"),
     ("bbob_f1[instance=16]", "instance")],
)  # fmt: skip
def test_bad_bbob_settings_are_refused_before_any_work(tmp_path, capsys, spec, message):
    db = tmp_path / "runs.db"
    refused(["run", "-p", spec, "-o", "nelder_mead", "--db", str(db)], capsys, message)
    assert not db.exists()


@pytest.fixture(scope="module")
def bbob_runs(tmp_path_factory):
    """Nelder-Mead (native and scipy's) on f1 and f8 in 2-D and 5-D, instances 1-3."""
    db = tmp_path_factory.mktemp("bbob") / "runs.db"
    problems = ["bbob_f1[dim=[2,5],instance=[1,2,3]]", "bbob_f8[dim=[2,5],instance=[1,2,3]]"]
    args = ["run", "--db", str(db), "--max-evals-per-dim", "1000", "--no-progress"]
    for spec in problems:
        args += ["-p", spec]
    assert main([*args, "-o", "nelder_mead", "-o", "scipy_nelder_mead"]) == 0
    return db


def test_the_coco_export_is_read_by_cocopp_with_aRT_equal_to_optbench_ERT(bbob_runs, tmp_path):
    cocopp = pytest.importorskip("cocopp", reason="cocopp is not installed")
    out = tmp_path / "coco"
    assert main(["export", "--format", "coco", "--db", str(bbob_runs), "--output", str(out)]) == 0
    results = optbench.load_results(bbob_runs)
    runs = results.runs
    hits = hitting_times(runs, results.traces, "evals", kind="precision")
    keys = runs.set_index("run_id")["problem"].str.extract(r"bbob_f(\d+)\[dim=(\d+)")
    hits = hits.assign(
        function=hits["run_id"].map(keys[0]).astype(int),
        dim=hits["run_id"].map(keys[1]).astype(int),
        exponent=np.round(np.log10(hits["level"]), 6),  # COCO's grid 10**(k/5), as computed
    )
    ours = ert(hits, by=("config", "function", "dim", "exponent")).set_index(["config", "function", "dim", "exponent"])
    compared = 0
    for config in ["nelder_mead", "scipy_nelder_mead"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fewer than COCO's 15 instances; no network for its archive
            datasets = cocopp.load(str(out / config))
        assert sorted((ds.funcId, ds.dim) for ds in datasets) == [(1, 2), (1, 5), (8, 2), (8, 5)]
        for ds in datasets:
            assert sorted(ds.instancenumbers) == [1, 2, 3]
            theirs = ds.detERT(PRECISIONS)
            for level, art in zip(PRECISIONS, theirs):
                mine = ours.loc[(config, ds.funcId, ds.dim, round(np.log10(level), 6)), "ert"]
                assert art == pytest.approx(mine, rel=1e-12) or (np.isinf(art) and np.isinf(mine))
                compared += np.isfinite(art)
    assert compared >= 30  # most of the 40 (configuration, function, dim, target) pairs were reached


@pytest.mark.slow
def test_cocopp_compares_the_export_with_its_best_2009_reference(bbob_runs, tmp_path):
    cocopp = pytest.importorskip("cocopp", reason="cocopp is not installed")
    out = tmp_path / "coco"
    assert main(["export", "--format", "coco", "--db", str(bbob_runs), "--output", str(out)]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cocopp.genericsettings.verbose = False
        cocopp.main(f"-o {tmp_path / 'pp'} {out / 'nelder_mead'} {out / 'scipy_nelder_mead'}")
    assert (tmp_path / "pp" / "index.html").is_file()
    figures = list((tmp_path / "pp").glob("*/pprldmany_02D_noiselessall.svg"))
    assert figures and "best 2009" in figures[0].read_text()  # the reference algorithm cocopp ships


def test_the_coco_export_refuses_runs_on_other_problems(tmp_path, capsys):
    db = tmp_path / "runs.db"
    assert main(["run", "-p", "linear", "-o", "nelder_mead", "--db", str(db), "--max-steps", "20"]) == 0
    capsys.readouterr()
    before = sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()
    refused(["export", "--format", "coco", "--db", str(db), "--output", str(tmp_path / "out")], capsys, "BBOB")
    assert not (tmp_path / "out").exists()
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone() == before


def test_the_coco_data_lines_are_the_best_loss_at_each_improvement(bbob_runs, tmp_path):
    out = tmp_path / "coco"
    assert main(["export", "--format", "coco", "--db", str(bbob_runs), "--output", str(out)]) == 0
    results = optbench.load_results(bbob_runs)
    run = results.runs.query("problem == 'bbob_f8[dim=2,instance=2]' and optimizer == 'scipy_nelder_mead'").iloc[0]
    trace = results.traces.query("run_id == @run.run_id")
    text = (out / "scipy_nelder_mead" / "data_f8" / "bbobexp_f8_DIM2.dat").read_text()
    trials = [t for t in text.split("%") if t.strip()]
    lines = np.loadtxt(trials[1].splitlines()[1:])  # trials in instance order: the second is instance 2
    best = np.minimum.accumulate(trace["best_loss"].to_numpy())
    nfev = trace["nfev"].to_numpy()
    improved = np.flatnonzero(np.r_[True, best[1:] < best[:-1]])
    if nfev[-1] > nfev[improved[-1]]:  # and the last evaluation, what the run spent
        improved = np.r_[improved, len(nfev) - 1]
    np.testing.assert_array_equal(lines[:, 0], nfev[improved])
    np.testing.assert_allclose(lines[:, 2], best[improved] - run.f_opt, rtol=1e-15, atol=1e-13)
    info = (out / "scipy_nelder_mead" / "bbobexp_f8.info").read_text()
    assert f"2:{int(nfev.max())}|" in info and "funcId = 8, DIM = 2" in info


WITHOUT_SUITES = """
import importlib.util, sys
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name in ("cocoex", "sif2jax") else real(name, *a)
from optbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_the_suites_extra_they_are_not_listed_and_asking_says_what_to_install(tmp_path):
    listed = subprocess.run([sys.executable, "-c", WITHOUT_SUITES, "list", "problems"], capture_output=True, text=True)
    assert listed.returncode == 0 and "nist_misra1a" in listed.stdout
    assert "bbob_f" not in listed.stdout and "cutest_" not in listed.stdout
    db = tmp_path / "runs.db"
    for spec, package in (("bbob_f8[dim=2]", "coco-experiment"), ("cutest_beale", "sif2jax")):
        args = [sys.executable, "-c", WITHOUT_SUITES, "run", "-p", spec, "-o", "nelder_mead", "--db", str(db)]
        asked = subprocess.run(args, capture_output=True, text=True)
        assert asked.returncode == 2 and "Traceback" not in asked.stderr
        assert f"pip install {package}" in asked.stderr and "optbench[suites]" in asked.stderr
    assert not db.exists()
