import itertools
import textwrap

import pytest
from helpers import plugin_dir

import optbench
from optbench.errors import PluginError, SpecError, UnknownNameError
from optbench.optimizer_config import optimizer_configs
from optbench.registry import REGISTRY, Entry


def test_builtins_are_registered():
    assert {"linear", "quadratic", "sinusoidal", "sinusoidal_wave"} <= set(REGISTRY.names("problem"))
    assert {"gd", "sgd", "momentum", "adam", "rmsprop", "adadelta"} <= set(REGISTRY.names("optimizer"))


def test_unknown_names_suggest_the_closest():
    with pytest.raises(UnknownNameError, match="did you mean 'adam'"):
        REGISTRY.get("optimizer", "adma")
    with pytest.raises(UnknownNameError, match="did you mean 'sinusoidal'"):
        REGISTRY.problem("sinusodal")


def test_wrong_parameter_name_and_type():
    with pytest.raises(SpecError, match="no parameter 'lr'.*did you mean 'learning_rate'"):
        optimizer_configs("adam[lr=0.1]")
    with pytest.raises(SpecError, match="must be float"):
        optimizer_configs("adam[learning_rate=fast]")
    with pytest.raises(SpecError, match="must be true or false"):
        optimizer_configs("momentum[nesterov=1]")
    with pytest.raises(SpecError, match="must be int"):
        REGISTRY.problem("quadratic[n=10.5]")


def test_ints_widen_to_floats_and_grids_expand():
    configs = optimizer_configs("adam[learning_rate=[1,0.1]]")
    assert [c.params["learning_rate"] for c in configs] == [1.0, 0.1]
    assert configs[0].solver_key == configs[1].solver_key  # floats are data: one program
    assert configs[1].label == "adam[learning_rate=0.1]"


def test_problems_are_built_once_per_canonical_spec():
    assert REGISTRY.problem("quadratic[noise=0.5]") is REGISTRY.problem("quadratic")
    assert REGISTRY.problem("quadratic[n=50]").spec == "quadratic[n=50]"


def test_plugins_register_and_report_errors(tmp_path):
    registry = REGISTRY
    good = tmp_path / "good"
    good.mkdir()
    (good / "mine.py").write_text(
        textwrap.dedent("""
        from optbench.registry import Entry, REGISTRY
    """)
    )
    registry.load_plugins([good])
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(PluginError, match="broken.py failed to import: ModuleNotFoundError"):
        registry.load_plugins([bad])
    with pytest.raises(PluginError, match="does not exist"):
        registry.load_plugins([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(PluginError, match="holds no plugin files"):
        registry.load_plugins([tmp_path / "empty"])


def test_a_name_registered_twice_is_an_error(tmp_path):
    (tmp_path / "dup.py").write_text(
        textwrap.dedent("""
        import optax
        from optbench import register_optimizer

        @register_optimizer("adam")
        def adam(learning_rate: float = 0.1):
            return optax.adam(learning_rate)
    """)
    )
    with pytest.raises(PluginError, match="'adam' is registered twice"):
        REGISTRY.load_plugins([tmp_path])


def test_a_notebook_cell_run_again_replaces_its_own_registration():
    import jax.numpy as jnp

    from optbench.registry import Registry

    registry = Registry()
    registry._builtins_loaded = True  # this registry holds only what the "cell" registers
    namespace = {"__name__": "__main__", "optbench": optbench, "jnp": jnp}
    cell = """
def bowl(n: int = 2):
    return optbench.Problem("bowl", loss=lambda x: jnp.sum((x - {c}) ** 2), init=jnp.zeros(n))
"""
    for centre in (1.0, 3.0):  # the cell, edited and run again
        exec(cell.format(c=centre), namespace)
        registry.add(Entry("problem", "bowl", namespace["bowl"]))
        problem = registry.problem("bowl")
        assert float(problem.loss(jnp.full(2, centre))) == 0.0  # the new definition, not a cached old one
    other = {"__name__": "my_plugin", "optbench": optbench, "jnp": jnp}
    exec(cell.format(c=0.0), other)
    with pytest.raises(PluginError, match="registered twice"):  # a plugin file still may not replace it
        registry.add(Entry("problem", "bowl", other["bowl"]))


def test_names_sort_with_their_numbers_by_value():
    from optbench.registry import natural_key

    names = ["bbob_f15", "bbob_f2", "bbob_f1[instance=10]", "bbob_f1[instance=2]", "linear"]
    assert sorted(names, key=natural_key) == [
        "bbob_f1[instance=2]",
        "bbob_f1[instance=10]",
        "bbob_f2",
        "bbob_f15",
        "linear",
    ]
    listed = REGISTRY.names("problem")
    assert listed.index("nist_misra1a") > listed.index("nist_gauss1")  # still alphabetical between words


def test_listings_show_a_description_sentence_whole_wrapped_to_the_terminal(tmp_path, capsys, monkeypatch):
    from optbench.cli import main

    plugins = plugin_dir(
        tmp_path,
        '''
        import jax.numpy as jnp
        import optbench

        @optbench.register_problem("long_described_bowl")
        def long_described_bowl():
            """A bowl whose one-line description runs over two lines of its docstring, as
            black formats a long one. A second sentence is detail for describe."""
            return optbench.Problem("long_described_bowl", lambda x: jnp.sum(x**2), init=jnp.ones(2))
        ''',
    )
    monkeypatch.setenv("COLUMNS", "70")
    assert main(["list", "problems", "--plugins", str(plugins)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("long_described_bowl"))
    entry = [lines[start], *itertools.takewhile(lambda line: line.startswith(" " * 19), lines[start + 1 :])]
    assert all(len(line) <= 70 for line in lines)
    text = " ".join(" ".join(line.split()) for line in entry)
    assert text.endswith("as black formats a long one.") and "A second sentence" not in text
