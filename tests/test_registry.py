import textwrap

import pytest

from optbench.errors import PluginError, SpecError, UnknownNameError
from optbench.optimizer import optimizer_configs
from optbench.registry import REGISTRY


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
