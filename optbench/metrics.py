"""Accuracy scores that problems report through their ``metrics``."""

from __future__ import annotations

from typing import Any

LRE_CAP = 11.0


def lre(estimate: Any, certified: Any) -> Any:
    """Log relative error, -log10(|estimate - certified| / |certified|), floored at 0 and
    capped at 11: about the number of correct significant digits (McCullough 1999,
    "Assessing the reliability of statistical software"). A non-finite estimate scores 0."""
    import jax.numpy as jnp

    estimate = jnp.asarray(estimate)
    digits = -jnp.log10(jnp.abs(estimate - certified) / jnp.abs(certified))
    return jnp.where(jnp.isfinite(estimate), jnp.clip(digits, 0.0, LRE_CAP), 0.0)
