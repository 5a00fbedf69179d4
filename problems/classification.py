"""Classification: logistic regression and small networks, on real and toy data.

``logistic`` and ``mlp`` use the breast-cancer and digits data that scikit-learn ships
(no download); ``logistic_2d``, ``xor`` and ``circles`` are seeded synthetic sets; ``mnist``
and ``fashion_mnist`` read the standard IDX files from a folder the user names (see
``load_images``: optbench downloads nothing), with their own train/test split. Every
problem has a fixed, seeded train/test split; features are standardized with statistics
of the training split only. The loss is the mean cross-entropy on the training split;
minibatch methods draw from it. Metrics: train loss and accuracy, test loss and accuracy.

JAX and scikit-learn are imported inside the factories so that listing problems stays cheap.
"""

from __future__ import annotations

import gzip
import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np

from optbench import Problem, register_problem
from optbench.errors import OptbenchError

ACTIVATIONS = ("relu", "tanh", "sigmoid")

# Checked when a spec is read, before any data is made.
SAMPLES = (4, 1_000_000)
FRACTION = {"test_fraction": (0.01, 0.99)}
VALIDATION = {"validation_fraction": (0.0, 0.9)}


def split(features: np.ndarray, labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """A seeded train/test split, features standardized with the training statistics."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = max(1, round(test_fraction * len(labels)))
    test, train = order[:n_test], order[n_test:]
    mean, std = features[train].mean(axis=0), features[train].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scaled = (features - mean) / std
    return scaled[train], labels[train], scaled[test], labels[test]


def hold_out(data: tuple[np.ndarray, ...], fraction: float) -> tuple[np.ndarray, ...]:
    """(train x, y, test x, y) with the last ``fraction`` of the training rows held out as a
    validation split, appended as (validation x, y); as it was where ``fraction`` is 0.
    The training rows are in a seeded random order already (``split``); ``optbench tune``
    selects on the validation split where a problem has one."""
    if fraction == 0:
        return data
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be between 0 and 1, got {fraction}")
    x_train, y_train, *test = data
    n_val = max(1, round(fraction * len(y_train)))
    return (x_train[:-n_val], y_train[:-n_val], *test, x_train[-n_val:], y_train[-n_val:])


def _linear_logits(params: Any, x: Any) -> Any:
    return x @ params["w"] + params["b"]


def _binary_metrics(logits: Any, y: Any) -> dict[str, Any]:
    """Mean binary cross-entropy (from logits, stable) and accuracy."""
    import jax

    loss = (jax.nn.softplus(logits) - y * logits).mean()
    return {"loss": loss, "accuracy": ((logits > 0) == (y > 0.5)).mean()}


def _multiclass_metrics(logits: Any, y: Any) -> dict[str, Any]:
    """Mean softmax cross-entropy and accuracy; ``y`` holds class indices."""
    import jax
    import jax.numpy as jnp

    picked = jnp.take_along_axis(logits, y[:, None].astype(jnp.int32), axis=1)[:, 0]
    loss = (jax.nn.logsumexp(logits, axis=1) - picked).mean()
    return {"loss": loss, "accuracy": (jnp.argmax(logits, axis=1) == y).mean()}


def classifier(
    name: str,
    predict: Any,
    score: Any,
    init: Any,
    data: tuple[np.ndarray, ...],
    *,
    dtype: str,
    description: str,
    penalty: Any = None,
    batch_size: int = 32,
    **extra: Any,
) -> Problem:
    """A classification Problem: ``predict(params, x)`` gives logits, ``score(logits, y)``
    a dict with the mean ``loss`` and ``accuracy``; ``penalty(params)`` is added to the
    training loss only. ``data``: train x, y, test x, y, and optionally validation x, y
    (``hold_out``), whose loss and accuracy are metrics too (``val_loss``, ``val_accuracy``)."""
    import jax.numpy as jnp

    x_train, y_train, x_test, y_test, *validation = (jnp.asarray(a, dtype) for a in data)
    train = (x_train, y_train)

    def loss(params: Any, batch: Any = None) -> Any:
        xb, yb = train if batch is None else batch
        value = score(predict(params, xb), yb)["loss"]
        return value if penalty is None else value + penalty(params)

    def metrics(params: Any) -> dict[str, Any]:
        fit, held_out = score(predict(params, x_train), y_train), score(predict(params, x_test), y_test)
        values = {
            "train_loss": fit["loss"],
            "train_accuracy": fit["accuracy"],
            "test_loss": held_out["loss"],
            "test_accuracy": held_out["accuracy"],
        }
        if validation:  # a validation split (``hold_out``): what tuning selects on
            checked = score(predict(params, validation[0]), validation[1])
            values.update(val_loss=checked["loss"], val_accuracy=checked["accuracy"])
        return values

    return Problem(
        name=name,
        loss=loss,
        init=init,
        description=description,
        dtype=dtype,
        data=train,
        batch_size=batch_size,
        metrics=metrics,
        predict=predict,
        **extra,
    )


def _logistic_optimum(x: np.ndarray, y: np.ndarray, l2: float) -> float:
    """The optimal penalized training loss, by scipy's L-BFGS on a numpy objective (independent
    of JAX, so it also checks the JAX problem)."""
    from scipy.optimize import minimize
    from scipy.special import expit

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ v[:-1] + v[-1]
        loss = np.mean(np.logaddexp(0, z) - y * z) + 0.5 * l2 * v[:-1] @ v[:-1]
        d = (expit(z) - y) / len(y)
        return loss, np.append(x.T @ d + l2 * v[:-1], d.sum())

    fit = minimize(fun, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    return float(fit.fun)


def _linear_start(n_features: int, scale: float = 0.01) -> Any:
    def init(key: Any) -> dict:
        import jax

        return {"w": scale * jax.random.normal(key, (n_features,)), "b": 0.0}

    return init


@register_problem("logistic", tags=("classification",), limits={"l2": (0.0, None), **FRACTION, **VALIDATION})
def logistic(l2: float = 0.01, test_fraction: float = 0.25, seed: int = 0, validation_fraction: float = 0.0) -> Problem:
    """Binary logistic regression on scikit-learn's breast-cancer data (569 x 30), float64.

    The objective: the mean cross-entropy over the training rows (427 of 569 at the default
    ``test_fraction``; features standardized with the training rows' statistics) of
    sigmoid(x @ w + b), plus (l2 / 2) |w|^2, the intercept b unpenalized. That is
    scikit-learn's ``LogisticRegression(C=1 / (l2 * n_train))``: C = 0.234 at the default
    l2 = 0.01. ``f_opt`` is its minimum, solved once to float64 precision (where l2 > 0).
    ``validation_fraction`` holds out that share of the training rows as a validation split
    (``val_loss``, ``val_accuracy``), which ``optbench tune`` selects on."""
    from sklearn.datasets import load_breast_cancer

    if l2 < 0:
        raise ValueError(f"l2 must be non-negative, got {l2}")
    features, labels = load_breast_cancer(return_X_y=True)
    data = hold_out(split(features, labels.astype(float), test_fraction, seed), validation_fraction)
    return classifier(
        "logistic",
        _linear_logits,
        _binary_metrics,
        _linear_start(features.shape[1]),
        data,
        dtype="float64",  # the optimum is checked against scikit-learn's to 1e-6
        description="breast-cancer logistic regression, mean log-loss + l2/2 |w|^2",
        penalty=(lambda p: 0.5 * l2 * (p["w"] @ p["w"])) if l2 > 0 else None,
        f_opt=_logistic_optimum(data[0], data[1], l2) if l2 > 0 else None,
    )


@register_problem("logistic_2d", tags=("classification", "smoke"), limits={"n": SAMPLES})
def logistic_2d(n: int = 200, separation: float = 2.0, seed: int = 0) -> Problem:
    """Logistic regression on two overlapping Gaussian blobs in 2-D; the fitted decision
    boundary w1*x1 + w2*x2 + b = 0 is a line that can be drawn over the data."""
    if n < 4:
        raise ValueError(f"n must be at least 4, got {n}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype(float)
    centers = np.where(labels[:, None] > 0, separation / 2, -separation / 2)
    features = centers + rng.standard_normal((n, 2))
    return classifier(
        "logistic_2d",
        _linear_logits,
        _binary_metrics,
        _linear_start(2),
        split(features, labels, 0.25, seed),
        dtype="float32",
        description="two Gaussian blobs in 2-D, logistic regression",
    )


def parse_hidden(hidden: str | int) -> tuple[int, ...]:
    """Hidden layer sizes from "64x32" (or a single size)."""
    try:
        sizes = tuple(int(part) for part in str(hidden).split("x"))
    except ValueError:
        raise ValueError(f"hidden must be layer sizes such as 64x32, got {hidden!r}") from None
    if any(size < 1 for size in sizes):
        raise ValueError(f"hidden layer sizes must be positive, got {hidden!r}")
    return sizes


def mlp_network(sizes: tuple[int, ...], activation: str) -> tuple[Any, Any]:
    """A multilayer perceptron: (init(key) -> list of {"w", "b"} layers, predict(params, x))
    with Glorot-uniform weights and zero biases; ``activation`` between layers."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")

    def init(key: Any) -> list[dict]:
        import jax

        layers = []
        for k, (fan_in, fan_out) in zip(jax.random.split(key, len(sizes) - 1), itertools.pairwise(sizes)):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            w = jax.random.uniform(k, (fan_in, fan_out), minval=-limit, maxval=limit)
            layers.append({"w": w, "b": np.zeros(fan_out)})
        return layers

    def predict(params: list[dict], x: Any) -> Any:
        import jax

        act = {"relu": jax.nn.relu, "tanh": jax.numpy.tanh, "sigmoid": jax.nn.sigmoid}[activation]
        for layer in params[:-1]:
            x = act(x @ layer["w"] + layer["b"])
        return x @ params[-1]["w"] + params[-1]["b"]

    return init, predict


@register_problem("mlp", tags=("classification",), limits={**FRACTION, **VALIDATION})
def mlp(
    hidden: str = "64x32",
    activation: str = "relu",
    test_fraction: float = 0.25,
    seed: int = 0,
    validation_fraction: float = 0.0,
) -> Problem:
    """A multilayer perceptron on scikit-learn's 8x8 digits (1,797 images, 10 classes), float32.

    ``validation_fraction`` holds out that share of the training images as a validation
    split (``val_loss``, ``val_accuracy``), which ``optbench tune`` selects on."""
    init, predict = mlp_network((64, *parse_hidden(hidden), 10), activation)
    text = f"digits MLP 64-{'-'.join(map(str, parse_hidden(hidden)))}-10 ({activation}), cross-entropy"
    return _digits("mlp", init, predict, test_fraction, seed, text, validation_fraction)


def _digits(
    name: str, init: Any, predict: Any, test_fraction: float, seed: int, description: str, validation: float = 0.0
) -> Problem:
    """A float32 classifier of scikit-learn's 8x8 digits (64 features, 10 classes)."""
    from sklearn.datasets import load_digits

    features, labels = load_digits(return_X_y=True)
    data = hold_out(split(features, labels.astype(float), test_fraction, seed), validation)
    return classifier(name, predict, _multiclass_metrics, init, data, dtype="float32", description=description)


def _toy_network(
    name: str, features: np.ndarray, labels: np.ndarray, hidden: str, activation: str, seed: int, text: str
) -> Problem:
    init, predict = mlp_network((2, *parse_hidden(hidden), 1), activation)
    return classifier(
        name,
        lambda p, x: predict(p, x)[:, 0],
        _binary_metrics,
        init,
        split(features, labels, 0.25, seed),
        dtype="float32",
        description=text,
    )


@register_problem("xor", tags=("classification",), limits={"n": SAMPLES, "noise": (0.0, None)})
def xor(n: int = 200, noise: float = 0.1, hidden: str = "8", activation: str = "tanh", seed: int = 0) -> Problem:
    """XOR: points in four quadrants, the label says whether x1 and x2 share a sign; no line
    separates the classes, one hidden layer does."""
    rng = np.random.default_rng(seed)
    features = rng.uniform(-1, 1, (n, 2))
    labels = (features[:, 0] * features[:, 1] > 0).astype(float)
    features = features + noise * rng.standard_normal((n, 2))
    return _toy_network("xor", features, labels, hidden, activation, seed, "XOR quadrants, a one-hidden-layer network")


@register_problem("circles", tags=("classification",), limits={"n": SAMPLES, "noise": (0.0, None)})
def circles(n: int = 200, noise: float = 0.1, hidden: str = "8", activation: str = "tanh", seed: int = 0) -> Problem:
    """Two concentric circles (radii 1 and 0.5) with Gaussian noise: the inner one is class 1."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype(float)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(labels > 0, 0.5, 1.0)
    features = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    features = features + noise * rng.standard_normal((n, 2))
    return _toy_network("circles", features, labels, hidden, activation, seed, "concentric circles, a small network")


def cnn_network(channels: tuple[int, int], dense: int) -> tuple[Any, Any]:
    """A LeNet-style network for 8x8 one-channel images: (init(key), predict(params, x))
    with ``x`` of shape (N, 64). Two blocks of 3x3 convolution ('SAME' zero padding),
    ReLU and 2x2 average pooling (LeNet's subsampling, smooth, so central differences
    check its gradients) take 8x8 to 2x2; then a dense ReLU layer and 10 logits.
    He-uniform weights in HWIO layout, zero biases."""
    c1, c2 = channels

    def init(key: Any) -> dict:
        import jax

        def uniform(k: Any, shape: tuple[int, ...], fan_in: int) -> Any:
            limit = np.sqrt(6.0 / fan_in)
            return jax.random.uniform(k, shape, minval=-limit, maxval=limit)

        k1, k2, k3, k4 = jax.random.split(key, 4)
        return {
            "conv1": {"w": uniform(k1, (3, 3, 1, c1), 9), "b": np.zeros(c1)},
            "conv2": {"w": uniform(k2, (3, 3, c1, c2), 9 * c1), "b": np.zeros(c2)},
            "dense": {"w": uniform(k3, (4 * c2, dense), 4 * c2), "b": np.zeros(dense)},
            "out": {"w": uniform(k4, (dense, 10), dense) / np.sqrt(2.0), "b": np.zeros(10)},
        }

    def predict(params: dict, x: Any) -> Any:
        import jax

        def block(h: Any, layer: dict) -> Any:
            h = jax.nn.relu(conv3x3(h, layer["w"]) + layer["b"])
            n, height, width, c = h.shape
            return h.reshape(n, height // 2, 2, width // 2, 2, c).mean(axis=(2, 4))

        h = block(block(x.reshape(-1, 8, 8, 1), params["conv1"]), params["conv2"])
        h = jax.nn.relu(h.reshape(h.shape[0], -1) @ params["dense"]["w"] + params["dense"]["b"])
        return h @ params["out"]["w"] + params["out"]["b"]

    return init, predict


def conv3x3(h: Any, w: Any) -> Any:
    """A 3x3 'SAME' convolution (cross-correlation, as in deep-learning libraries) of NHWC
    images ``h`` with HWIO weights ``w``, as one matrix product of the nine shifted images
    (im2col). The same numbers as ``lax.conv_general_dilated``, but XLA's CPU backend runs
    that 6.6x slower inside the training loop (43 ms against 6.5 ms a full-batch step on
    the digits; alone, 11 ms): its convolutions lose their fast path inside a while loop."""
    import jax.numpy as jnp

    _, height, width, c = h.shape
    padded = jnp.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
    shifted = [padded[:, i : i + height, j : j + width, :] for i in range(3) for j in range(3)]
    return jnp.concatenate(shifted, axis=-1) @ w.reshape(9 * c, -1)


@register_problem("cnn", tags=("classification",), limits={**FRACTION, "channels": (1, 256), "dense": (1, 4096)})
def cnn(channels: int = 8, dense: int = 64, test_fraction: float = 0.25, seed: int = 0) -> Problem:
    """A small convolutional network (LeNet-style: two conv-pool blocks, a dense layer) on
    scikit-learn's 8x8 digits, float32; ``channels`` in the first block, twice that in the second."""
    if channels < 1 or dense < 1:
        raise ValueError(f"channels and dense must be positive, got {channels} and {dense}")
    init, predict = cnn_network((channels, 2 * channels), dense)
    text = f"digits CNN conv{channels}-pool-conv{2 * channels}-pool-{dense}-10 (ReLU), cross-entropy"
    return _digits("cnn", init, predict, test_fraction, seed, text)


# MNIST and Fashion-MNIST: a folder holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
# t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each gzipped (.gz) or not, as both sets
# are distributed: the spec's data_dir, else OPTBENCH_MNIST_DIR (OPTBENCH_FASHION_MNIST_DIR).
# The training set is the files' 60,000 images (or their first n_train), the test set their
# 10,000; pixels are scaled to [0, 1]; the network and metrics are mlp's.

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_MAGIC = {3: 2051, 1: 2049}  # unsigned bytes, 3 or 1 dimensions
IMAGE_SIZE = 28 * 28


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or not) as an array of its shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        raw = file.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise OptbenchError(f"{path} is not an IDX file of unsigned bytes (its first bytes are {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(shape)):
        raise OptbenchError(f"{path} is truncated: its header says {shape}, its size is {len(raw):,} bytes")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def load_images(data_dir: str, variable: str, name: str) -> tuple[np.ndarray, ...]:
    """(train images, train labels, test images, test labels) from the IDX files."""
    folder = data_dir or os.environ.get(variable, "")
    listed = ", ".join(FILES.values())
    if not folder:
        raise OptbenchError(
            f"{name} reads the IDX files {listed} (gzipped or not) from a folder: give it as "
            f"{name}[data_dir='FOLDER'] or in {variable}"
        )
    found = {}
    for key, stem in FILES.items():
        paths = [Path(folder) / stem, Path(folder) / f"{stem}.gz"]
        path = next((p for p in paths if p.is_file()), None)
        if path is None:
            raise OptbenchError(f"{name}: no {stem} (or {stem}.gz) in {folder}; the folder needs {listed}")
        found[key] = read_idx(path)
    for part in ("train", "test"):
        images, labels = found[f"{part}_images"], found[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.ndim != 1 or len(labels) != len(images):
            raise OptbenchError(
                f"{name}: the {part} files hold images {images.shape} and labels {labels.shape}, "
                "not n 28x28 images and their n labels"
            )
    return found["train_images"], found["train_labels"], found["test_images"], found["test_labels"]


def _image_classifier(
    name: str, variable: str, data_dir: str, hidden: str, activation: str, n_train: int, what: str, validation: float
) -> Problem:
    x_train, y_train, x_test, y_test = load_images(data_dir, variable, name)
    if n_train:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    flat = lambda images: images.reshape(len(images), IMAGE_SIZE).astype(np.float32) / 255.0
    data = hold_out((flat(x_train), y_train.astype(np.float32), flat(x_test), y_test.astype(np.float32)), validation)
    sizes = parse_hidden(hidden)
    init, predict = mlp_network((IMAGE_SIZE, *sizes, 10), activation)
    text = f"{what}: dense network 784-{'-'.join(map(str, sizes))}-10 ({activation}), cross-entropy"
    return classifier(name, predict, _multiclass_metrics, init, data, dtype="float32", description=text)


_LIMITS: dict[str, Any] = {"n_train": (0, 60_000), **VALIDATION}


@register_problem("mnist", tags=("classification", "images"), limits=_LIMITS)
def mnist(
    data_dir: str = "",
    hidden: str = "128",
    activation: str = "relu",
    n_train: int = 0,
    validation_fraction: float = 0.0,
) -> Problem:
    """A dense network on MNIST's handwritten digits (60,000 + 10,000 28x28 images) from its IDX files, float32."""
    return _image_classifier(
        "mnist", "OPTBENCH_MNIST_DIR", data_dir, hidden, activation, n_train, "MNIST digits", validation_fraction
    )


@register_problem("fashion_mnist", tags=("classification", "images"), limits=_LIMITS)
def fashion_mnist(
    data_dir: str = "",
    hidden: str = "128",
    activation: str = "relu",
    n_train: int = 0,
    validation_fraction: float = 0.0,
) -> Problem:
    """A dense network on Fashion-MNIST's clothing images (60,000 + 10,000 28x28) from its IDX files, float32."""
    return _image_classifier(
        "fashion_mnist",
        "OPTBENCH_FASHION_MNIST_DIR",
        data_dir,
        hidden,
        activation,
        n_train,
        "Fashion-MNIST",
        validation_fraction,
    )
