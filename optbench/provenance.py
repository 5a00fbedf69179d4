"""Provenance: what a run ran on, recorded with every run so results can be grouped by it."""

from __future__ import annotations

import functools
import json
import platform
import socket
from importlib import metadata
from typing import Any

import jax

PACKAGES = ("optbench", "jax", "jaxlib", "numpy", "scipy", "optax", "pandas", "deap", "pymoo")


@functools.cache
def provenance() -> dict[str, Any]:
    """The host, the JAX device (its kind: ``cpu`` with the processor's model, or the GPU
    model), whether JAX's float64 mode is on, and the versions of the packages a run's
    numbers depend on (JSON). Computed once per process."""
    device = jax.devices()[0]
    kind = device.device_kind
    if device.platform == "cpu":
        kind = f"cpu ({_cpu_model()})" if _cpu_model() else "cpu"
    return {
        "host": socket.gethostname(),
        "device": kind,
        "float64": bool(jax.config.jax_enable_x64),
        "versions": json.dumps({name: _version(name) for name in PACKAGES if _version(name)}, sort_keys=True),
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


@functools.cache
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
