import math

import pytest

from optbench.errors import SpecError
from optbench.spec import Grid, format_spec, parse_spec


def test_name_alone_has_no_parameters():
    assert parse_spec("adam").params == {}
    assert parse_spec("  sinusoidal_wave ").name == "sinusoidal_wave"


def test_values_are_typed():
    spec = parse_spec("x[a=1, b=0.5, c=1e-3, d=true, e=relu, f='two words', g=-2]")
    assert spec.params == {"a": 1, "b": 0.5, "c": 1e-3, "d": True, "e": "relu", "f": "two words", "g": -2}
    assert isinstance(spec.params["a"], int) and isinstance(spec.params["c"], float)


def test_lists_are_grids_and_expand_to_the_cartesian_product():
    spec = parse_spec("adam[learning_rate=[0.1,0.01],b1=[0.9,0.5]]")
    assert spec.params["learning_rate"] == Grid((0.1, 0.01))
    points = [p.params for p in spec.expand()]
    assert len(points) == 4 and {"learning_rate": 0.01, "b1": 0.5} in points


def test_logspace_and_linspace():
    assert parse_spec("a[lr=logspace(-4,0,5)]").params["lr"].values == (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    assert parse_spec("a[lr=linspace(0,1,3)]").params["lr"].values == (0.0, 0.5, 1.0)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("adam[learning_rate=0.1", "expected ']'"),
        ("adam[=0.1]", "parameter name"),
        ("adam[learning_rate]", "expected '='"),
        ("adam[learning_rate=]", "expected a value"),
        ("adam[a=1,a=2]", "given twice"),
        ("adam]", "unexpected text"),
        ("[a=1]", "expected a name"),
        ("adam[a=[1,[2]]]", "nested"),
        ("a[lr=logspace(1,2)]", "three numbers"),
        ("a[s='open]", "unterminated"),
    ],
)
def test_malformed_specs_say_what_and_where(text, fragment):
    with pytest.raises(SpecError, match="malformed spec") as err:
        parse_spec(text)
    assert fragment in str(err.value)


def test_a_spec_with_a_newline_or_tab_is_shown_escaped_with_the_caret_under_the_error():
    with pytest.raises(SpecError) as err:
        parse_spec("ab\tcd\nx")
    message, spec, caret = str(err.value).split("\n")
    assert spec == "ab\\tcd\\nx" and caret == "    ^" and spec[len(caret) - 1] == "c"
    assert "at position 3" in message


def test_canonical_form_sorts_and_round_trips():
    text = format_spec("quadratic", {"noise": 0.2, "n": 500})
    assert text == "quadratic[n=500,noise=0.2]"
    assert parse_spec(text).params == {"n": 500, "noise": 0.2}
    assert format_spec("p", {"x": math.inf, "s": "a b"}) == 'p[s="a b",x=Infinity]'
