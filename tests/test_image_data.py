"""MNIST and Fashion-MNIST from their IDX files: the loader on small files the test writes
(gzipped or not), the network on them, and a clear message where files are missing."""

import gzip
import struct

import numpy as np
import pytest
from helpers import refused

import optbench
from optbench.errors import OptbenchError
from optbench.registry import REGISTRY


def _idx(path, array, gzipped):
    """An IDX file of unsigned bytes, as LeCun's format defines it: two zero bytes, the type
    (0x08), the number of dimensions, each dimension big-endian, then the bytes."""
    raw = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()
    (gzip.open if gzipped else open)(path, "wb").write(raw)


@pytest.fixture
def idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (24, 28, 28)), "t10k": rng.integers(0, 256, (10, 28, 28))}
    labels = {"train": rng.integers(0, 10, 24), "t10k": rng.integers(0, 10, 10)}
    for part in ("train", "t10k"):  # the training files gzipped, the test files not: both are read
        suffix = ".gz" if part == "train" else ""
        _idx(tmp_path / f"{part}-images-idx3-ubyte{suffix}", images[part], part == "train")
        _idx(tmp_path / f"{part}-labels-idx1-ubyte{suffix}", labels[part], part == "train")
    return tmp_path, images, labels


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_the_idx_files_become_a_dense_network_problem(idx_folder, name):
    folder, images, labels = idx_folder
    problem = REGISTRY.problem(f"{name}[data_dir='{folder}',hidden=16]")
    x, y = problem.data
    assert x.shape == (24, 784) and x.dtype == np.float32 and problem.n_params == 784 * 16 + 16 + 16 * 10 + 10
    np.testing.assert_array_equal(np.asarray(x), (images["train"].reshape(24, 784) / 255.0).astype(np.float32))
    np.testing.assert_array_equal(np.asarray(y), labels["train"])
    result = optbench.minimize(problem, "adam", max_steps=30)
    assert result.fun < result.trace["loss"].iloc[0]  # it trains
    accuracy = result.metrics["test_accuracy"]  # on the 10 test images
    assert 0 <= accuracy <= 1 and abs(accuracy * 10 - round(accuracy * 10)) < 1e-5


def test_the_folder_may_come_from_the_environment_and_n_train_takes_the_first_images(idx_folder, monkeypatch):
    folder, images, _ = idx_folder
    monkeypatch.setenv("OPTBENCH_MNIST_DIR", str(folder))
    x, _ = REGISTRY.problem("mnist[n_train=5]").data
    np.testing.assert_array_equal(np.asarray(x) * 255, images["train"][:5].reshape(5, 784))


def test_missing_or_broken_files_are_one_clear_message(tmp_path, idx_folder, capsys, monkeypatch):
    monkeypatch.delenv("OPTBENCH_MNIST_DIR", raising=False)
    refused(["run", "-p", "mnist", "-o", "adam", "--db", str(tmp_path / "db")], capsys, "OPTBENCH_MNIST_DIR")
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(["run", "-p", f"mnist[data_dir='{empty}']", "-o", "adam", "--db", str(tmp_path / "db")], capsys,
            "no train-images-idx3-ubyte (or train-images-idx3-ubyte.gz)")  # fmt: skip
    folder, _, _ = idx_folder
    path = folder / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(OptbenchError, match="is truncated"):
        REGISTRY.problem(f"fashion_mnist[data_dir='{folder}']")
