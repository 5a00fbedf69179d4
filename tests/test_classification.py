"""Classification problems: gradients, the scikit-learn optimum, metrics, epochs, schedules."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import optbench
from optbench.registry import REGISTRY
from optbench.result import Status

# The module of the built-in classification problems (loaded by path, like a plugin).
classification = sys.modules[REGISTRY.get("problem", "logistic").factory.__module__]

CLASSIFIERS = [
    "logistic", "logistic[l2=0]", "logistic_2d", "mlp", "mlp[hidden=16,activation=tanh]", "xor", "circles", "cnn",
]  # fmt: skip


@pytest.mark.parametrize("spec", [*CLASSIFIERS, "mlp[activation=sigmoid]", "quadratic", "sinusoidal_wave"])
def test_gradients_agree_with_finite_differences(spec):
    problem = REGISTRY.problem(spec)
    flat, unravel = ravel_pytree(problem.init_params(jax.random.PRNGKey(3)))
    # In float64 even for float32 problems (the data are promoted), so the difference is exact enough.
    flat = flat.astype(jnp.float64) + 0.3 * jax.random.normal(jax.random.PRNGKey(4), flat.shape)
    f = lambda v: problem.value(unravel(v))
    grad = jax.grad(f)(flat)
    for k in range(3):  # directional derivatives along random directions (6,570 parameters in mlp)
        v = jax.random.normal(jax.random.PRNGKey(10 + k), flat.shape)
        h = 1e-7  # small: relu kinks crossed within the difference would spoil it
        numeric = (f(flat + h * v) - f(flat - h * v)) / (2 * h)
        assert float(grad @ v) == pytest.approx(float(numeric), rel=1e-5, abs=1e-8)


def test_logistic_reaches_scikit_learns_optimum():
    from sklearn.linear_model import LogisticRegression

    l2 = 0.01
    problem = REGISTRY.problem(f"logistic[l2={l2}]")
    x, y = (np.asarray(a) for a in problem.data)
    # scikit-learn minimizes |w|^2 / 2 + C * sum(log-loss); ours is mean(log-loss) + l2/2 |w|^2.
    model = LogisticRegression(C=1 / (l2 * len(y)), tol=1e-12, max_iter=100_000).fit(x, y)
    reference = float(problem.value({"w": jnp.asarray(model.coef_[0]), "b": jnp.asarray(model.intercept_[0])}))
    assert problem.f_opt == pytest.approx(reference, rel=1e-9)
    best = min(optbench.minimize(problem, name).fun for name in ("bfgs", "lbfgs", "scipy_lbfgsb"))
    assert abs(best - reference) <= 1e-6 * reference


def test_metrics_match_a_hand_computed_case():
    _binary_metrics, _multiclass_metrics = classification._binary_metrics, classification._multiclass_metrics
    logits = jnp.array([2.0, -1.0, 0.5, -3.0])
    labels = jnp.array([1.0, 1.0, 0.0, 0.0])  # right, wrong, wrong, right
    scores = _binary_metrics(logits, labels)
    expected = np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(1.0)), np.log1p(np.exp(0.5)), np.log1p(np.exp(-3.0))])
    assert float(scores["accuracy"]) == 0.5
    assert float(scores["loss"]) == pytest.approx(expected, rel=1e-12)
    logits = jnp.array([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]])
    scores = _multiclass_metrics(logits, jnp.array([1.0, 2.0]))  # right, wrong
    e = np.exp(np.asarray(logits))
    expected = -np.mean([np.log(e[0, 1] / e[0].sum()), np.log(e[1, 2] / e[1].sum())])
    assert float(scores["accuracy"]) == 0.5 and float(scores["loss"]) == pytest.approx(expected, rel=1e-6)


def test_split_is_seeded_and_standardized_on_the_training_part_only():
    split = classification.split
    rng = np.random.default_rng(0)
    features, labels = rng.normal(5.0, 3.0, (100, 3)), rng.integers(0, 2, 100)
    x_train, y_train, x_test, y_test = split(features, labels, 0.25, seed=1)
    assert len(y_train) == 75 and len(y_test) == 25
    np.testing.assert_allclose(x_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(x_train.std(axis=0), 1, atol=1e-12)
    assert np.abs(x_test.mean(axis=0)).max() > 1e-6  # test data scaled with the training statistics
    again = split(features, labels, 0.25, seed=1)
    assert all((a == b).all() for a, b in zip((x_train, y_train, x_test, y_test), again))


def test_epochs_count_examples_so_minibatch_and_full_batch_share_an_axis():
    problem = REGISTRY.problem("logistic")
    n = problem.n_examples
    sgd = optbench.minimize("logistic", "sgd[batch_size=32]", max_epochs=3)
    gd = optbench.minimize("logistic", "gd", max_epochs=3)
    assert sgd.status is Status.MAX_EPOCHS and gd.status is Status.MAX_EPOCHS
    assert sgd.nit == int(np.ceil(3 * n / 32)) and gd.nit == 3
    assert sgd.trace["epochs"].iloc[-1] == pytest.approx(sgd.nit * 32 / n)
    bfgs = optbench.minimize("logistic", "bfgs", max_steps=5)
    assert (bfgs.trace["epochs"] == bfgs.trace["nfev"]).all()  # one pass per full-batch evaluation


def test_test_metrics_are_recorded_during_training_on_a_schedule():
    result = optbench.minimize("mlp", "adam", max_steps=300)
    recorded = result.trace.dropna(subset=["test_accuracy"])
    assert recorded["step"].tolist() == [16, 32, 64, 128, 256, 300]
    assert recorded["test_accuracy"].iloc[-1] == pytest.approx(result.metrics["test_accuracy"])
    assert recorded["test_accuracy"].iloc[-1] > recorded["test_accuracy"].iloc[0]


def test_dense_methods_skip_the_digits_network_with_a_reason():
    result = optbench.minimize("mlp", "bfgs")
    assert result.status is Status.SKIPPED and "at most 1,000 parameters; mlp has" in result.message


def test_bad_network_settings_get_clear_errors():
    from optbench.errors import OptbenchError

    for spec, words in [("mlp[activation=swish]", "activation must be one of"), ("mlp[hidden=64xx]", "layer sizes")]:
        with pytest.raises(OptbenchError, match=words):
            REGISTRY.problem(spec)


def test_default_first_order_methods_classify_well():
    first_order = [n for n in REGISTRY.names("optimizer") if REGISTRY.get("optimizer", n).family == "first_order"]
    for name in first_order:
        result = optbench.minimize("logistic", name)
        assert result.metrics["test_accuracy"] >= 0.95, (name, result.metrics)
    digits = optbench.minimize("mlp", "adam")  # adam at its defaults and the default budget
    assert digits.metrics["test_accuracy"] >= 0.95, digits.metrics


def test_the_cnns_convolution_equals_laxs():
    rng = np.random.default_rng(0)
    images, weights = rng.standard_normal((5, 8, 8, 3)), rng.standard_normal((3, 3, 3, 4))
    reference = jax.lax.conv_general_dilated(
        images, weights, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    np.testing.assert_allclose(classification.conv3x3(jnp.asarray(images), jnp.asarray(weights)), reference, rtol=1e-12)


@pytest.mark.slow
def test_adam_at_its_defaults_trains_the_cnn_to_97_percent():
    runs, _ = optbench.run("cnn", "adam", seeds=3)  # the default budget: 1,000 full-batch steps
    assert len(runs) == 3 and (runs["test_accuracy"] >= 0.97).all(), runs["test_accuracy"].tolist()


def test_train_accuracy_is_the_share_of_training_examples_classified_right():
    result = optbench.minimize("mlp[hidden=8]", "adam", max_steps=40)
    problem = REGISTRY.problem("mlp[hidden=8]")
    x, y = (np.asarray(a) for a in problem.data)
    params = jax.tree_util.tree_map(jnp.asarray, result.x)
    predicted = np.argmax(np.asarray(problem.predict(params, jnp.asarray(x))), axis=1)
    assert result.metrics["train_accuracy"] == pytest.approx(np.mean(predicted == y), abs=1e-6)
    assert 0.3 < result.metrics["train_accuracy"] < 1.0  # 40 steps: learning, not done
