"""A population method on a problem without bounds searches a box around its start; an
answer outside that box is never seen. The engineer's fit y = 5 exp(-x / 2) from
a = k = 1 has its answer a = 5 outside the default box [-1, 3] (start +- (1 + |start|))."""

import jax.numpy as jnp
import numpy as np
import pytest

import optbench

X = np.linspace(0, 5, 50)
DECAY = optbench.least_squares_problem(
    "decay_outside", lambda p, x: p["a"] * jnp.exp(-p["k"] * x), X, 5.0 * np.exp(-0.5 * X), init={"a": 1.0, "k": 1.0}
)


@pytest.mark.parametrize("name", ["ga", "deap_ga"])
def test_an_answer_on_the_edge_of_the_searched_box_is_named(name):
    result = optbench.minimize(DECAY, name, max_evals=3000)
    assert float(result.x["a"]) == pytest.approx(3.0, abs=4e-3)  # held at the box's edge, short of 5
    assert "ended on the edge of the box it searched (a = 3, the box [-1, 3]: start +- (1 + |start|))" in result.message
    assert "give the problem bounds= or search_box=" in result.message


def test_a_box_that_holds_the_answer_says_nothing():
    roomy = optbench.least_squares_problem(
        "decay_inside",
        lambda p, x: p["a"] * jnp.exp(-p["k"] * x),
        X,
        5.0 * np.exp(-0.5 * X),
        init={"a": 1.0, "k": 1.0},
        search_box=({"a": 0.0, "k": 0.0}, {"a": 10.0, "k": 2.0}),
    )
    result = optbench.minimize(roomy, "ga", max_evals=3000)
    assert float(result.x["a"]) == pytest.approx(5.0, rel=0.05) and "edge" not in result.message
    assert "edge" not in optbench.minimize(DECAY, "lm").message  # a method that searches no box
