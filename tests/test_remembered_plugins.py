"""Readers find the plugins runs were made with: the database remembers their folders."""

import shutil

from helpers import plugin_dir, run_cli

DECAY = '''
import jax.numpy as jnp
import numpy as np
import optbench


@optbench.register_problem("remembered_decay")
def remembered_decay():
    """y = a exp(-k x), exactly: the fit is a = 2, k = 0.5."""
    x = np.linspace(0.0, 4.0, 20)
    return optbench.least_squares_problem(
        "remembered_decay", lambda p, x: p["a"] * jnp.exp(-p["k"] * x), x, 2.0 * np.exp(-0.5 * x),
        init={"a": 1.0, "k": 1.0},
    )
'''


def test_views_load_the_plugins_a_run_used_and_say_when_they_moved_or_changed(tmp_path):
    plugins = plugin_dir(tmp_path, DECAY)
    db = str(tmp_path / "r.sqlite")
    ran = run_cli("run", "--plugins", str(plugins), "-p", "remembered_decay", "-o", "lm", "--max-steps", "50",
                  "--db", db, "--no-progress")  # fmt: skip
    assert ran.returncode == 0, ran.stderr

    # Without --plugins, the view that rebuilds the problem finds it through the database.
    drawn = run_cli("plot", "--kind", "fit", "--db", db, "--output", str(tmp_path / "fit"))
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / "fit" / "remembered_decay_fit.png").exists() and "warning" not in drawn.stderr

    # Changed since: still drawn from the code as it is, with a warning that says so.
    (plugins / "plugin.py").write_text(DECAY + "\n# edited\n")
    changed = run_cli("plot", "--kind", "fit", "--db", db, "--output", str(tmp_path / "fit2"))
    assert changed.returncode == 0, changed.stderr
    assert "changed since runs were stored" in changed.stderr

    # Moved: one warning naming the folder, then the view's own one-line error, exit 2.
    moved = shutil.move(str(plugins), str(tmp_path / "elsewhere"))
    gone = run_cli("plot", "--kind", "fit", "--db", db, "--output", str(tmp_path / "fit3"))
    assert gone.returncode == 2 and "Traceback" not in gone.stderr
    assert f"plugin folder {plugins} that runs here were made with is gone" in gone.stderr
    assert "cannot rebuild 'remembered_decay'" in gone.stderr.strip().splitlines()[-1]

    # Every reader takes --plugins for the folder's new place.
    for command in (["plot", "--kind", "fit", "--output", str(tmp_path / "fit4")], ["table"]):
        given = run_cli(*command, "--db", db, "--plugins", moved)
        assert given.returncode == 0 and "remembered_decay" in (given.stdout + given.stderr), given.stderr
    assert (tmp_path / "fit4" / "remembered_decay_fit.png").exists()
