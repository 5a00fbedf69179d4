"""Selection and variation operators of real-valued evolutionary algorithms, vectorized in JAX.

Each works on a whole population of flat vectors (P, n) inside a box ``(lower, upper)``
at once, so a generation is a handful of array operations. Operators take random 32-bit
words, not keys: a generation draws all its words in one call (``draw_words``), because
on a CPU each call into the random-number generator costs more than a small
population's arithmetic. References: Deb & Agrawal,
"Simulated binary crossover for continuous search space" (1995) and Deb & Goyal (1996)
for SBX and polynomial mutation in their bounded forms; Eshelman & Schaffer (1993) for
blend crossover (BLX-alpha).
"""

from __future__ import annotations

import math
from typing import Any

from optbench.tuning.space import Range

CROSSOVERS = ("sbx", "blend")
MUTATIONS = ("polynomial", "gaussian")
# What optbench tune searches for ga and nsga2: the population size, the crossover rate, and
# the spread of the operators in use: the distribution indices of SBX and polynomial
# mutation (Deb & Agrawal's 2-50 and 5-100: larger keeps children nearer their parents),
# blend crossover's alpha, Gaussian mutation's sigma (a fraction of the box's width).
SPACE = {
    "pop_size": Range(20, 200, "log", integer=True),
    "crossover_rate": Range(0.5, 1.0, "linear"),
    "eta_c": Range(2.0, 50.0, "log", when=(("crossover", "sbx"),)),
    "blend_alpha": Range(0.1, 1.0, "linear", when=(("crossover", "blend"),)),
    "eta_m": Range(5.0, 100.0, "log", when=(("mutation", "polynomial"),)),
    "sigma": Range(0.01, 0.5, "log", when=(("mutation", "gaussian"),)),
}


def draw_words(key: Any, **shapes: tuple[int, ...]) -> dict[str, Any]:
    """Random uint32 words of each named shape, from one call to the generator."""
    import jax
    import jax.numpy as jnp

    sizes = {name: math.prod(shape) for name, shape in shapes.items()}
    flat = jax.random.bits(key, (sum(sizes.values()),), jnp.uint32)
    out, start = {}, 0
    for name, shape in shapes.items():
        out[name] = flat[start : start + sizes[name]].reshape(shape)
        start += sizes[name]
    return out


def uniform(words: Any) -> Any:
    """Uniform numbers in (0, 1) from the upper 24 bits of ``words``, in float32."""
    import jax.numpy as jnp

    return ((words >> 8).astype(jnp.float32) + 0.5) / 2.0**24


def tournament(words: Any, badness: Any) -> Any:
    """Winners of tournaments, one per row of ``words`` (count, size): each row draws its
    entrants with replacement; the lowest ``badness`` wins (ties: the first drawn)."""
    import jax.numpy as jnp

    # Words modulo P: a bias below 1e-7 for any population that fits in memory.
    entrants = (words % badness.shape[0]).astype(jnp.int32)
    return entrants[jnp.arange(words.shape[0]), jnp.argmin(badness[entrants], axis=1)]


def sbx(words: Any, pairs: Any, parents_a: Any, parents_b: Any, lower: Any, upper: Any, rate: Any, eta: Any):
    """Bounded simulated binary crossover of paired parents (P/2, n): each pair is crossed
    with probability ``rate`` (``pairs``: one word per pair), each variable of a crossed
    pair with probability 1/2; the spread factor is drawn so children stay inside the box.
    Children are swapped at random. ``words``: one per variable (bit 0 picks it, bit 1
    swaps, the upper bits draw the spread). The spread factors are random draws, computed
    in float32: powers dominate the arithmetic on a CPU."""
    import jax.numpy as jnp

    y1, y2 = jnp.minimum(parents_a, parents_b), jnp.maximum(parents_a, parents_b)
    gap = y2 - y1
    safe_gap = jnp.where(gap > 1e-14, gap, 1.0)
    u = uniform(words)
    exponent = jnp.asarray(eta, jnp.float32) + 1.0

    def spread(room: Any) -> Any:
        beta = (1.0 + 2.0 * room / safe_gap).astype(jnp.float32)
        alpha = 2.0 - beta**-exponent
        base = jnp.where(u <= 1.0 / alpha, u * alpha, 1.0 / jnp.maximum(2.0 - u * alpha, 1e-30))
        return (base ** (1.0 / exponent)).astype(y1.dtype)

    c1 = jnp.clip(0.5 * (y1 + y2 - spread(y1 - lower) * gap), lower, upper)
    c2 = jnp.clip(0.5 * (y1 + y2 + spread(upper - y2) * gap), lower, upper)
    swap = (words & 2) > 0
    c1, c2 = jnp.where(swap, c2, c1), jnp.where(swap, c1, c2)
    crossed = (uniform(pairs) < rate) & ((words & 1) > 0) & (gap > 1e-14)
    return jnp.where(crossed, c1, parents_a), jnp.where(crossed, c2, parents_b)


def blend(words: Any, pairs: Any, parents_a: Any, parents_b: Any, lower: Any, upper: Any, rate: Any, alpha: Any):
    """Blend crossover (BLX-alpha): children drawn on the line through each pair of
    parents, up to ``alpha`` times their distance beyond either; pairs crossed with
    probability ``rate``; children clipped to the box."""
    import jax.numpy as jnp

    gamma = ((1.0 + 2.0 * alpha) * uniform(words) - alpha).astype(parents_a.dtype)
    c1 = jnp.clip((1.0 - gamma) * parents_a + gamma * parents_b, lower, upper)
    c2 = jnp.clip(gamma * parents_a + (1.0 - gamma) * parents_b, lower, upper)
    crossed = uniform(pairs) < rate
    return jnp.where(crossed, c1, parents_a), jnp.where(crossed, c2, parents_b)


def polynomial_mutation(words: Any, x: Any, lower: Any, upper: Any, rate: Any, eta: Any) -> Any:
    """Bounded polynomial mutation: each variable with probability ``rate`` moves by a
    perturbation whose distribution (index ``eta``) shrinks toward the nearer bound.
    One word per variable: its uniform below ``rate`` picks the variable, and divided by
    ``rate`` it is again uniform on [0, 1), the draw that sets the perturbation."""
    import jax.numpy as jnp

    width = jnp.where(upper > lower, upper - lower, 1.0)
    draw = uniform(words)
    rate32 = jnp.asarray(rate, jnp.float32)
    u = draw / jnp.maximum(rate32, 1e-30)
    exponent = jnp.asarray(eta, jnp.float32) + 1.0
    low = u < 0.5
    room = jnp.where(low, (x - lower) / width, (upper - x) / width).astype(jnp.float32)
    tail = (1.0 - room) ** exponent
    base = jnp.where(low, 2.0 * u + (1.0 - 2.0 * u) * tail, 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * tail)
    root = base ** (1.0 / exponent)
    delta = jnp.where(low, root - 1.0, 1.0 - root).astype(x.dtype)
    return jnp.where(draw < rate32, jnp.clip(x + delta * width, lower, upper), x)


def gaussian_mutation(words: Any, x: Any, lower: Any, upper: Any, rate: Any, sigma: Any) -> Any:
    """Gaussian mutation: each variable with probability ``rate`` moves by a normal step
    of ``sigma`` times the box's width in that variable, clipped to the box. One word per
    variable, used as in ``polynomial_mutation``; the normal step is its inverse CDF."""
    import jax.numpy as jnp
    from jax.scipy.special import ndtri

    draw = uniform(words)
    rate32 = jnp.asarray(rate, jnp.float32)
    u = jnp.clip(draw / jnp.maximum(rate32, 1e-30), 1e-7, 1.0 - 1e-7)
    step = ndtri(u).astype(x.dtype)
    return jnp.where(draw < rate32, jnp.clip(x + sigma * (upper - lower) * step, lower, upper), x)


def offspring(key: Any, population: Any, badness: Any, lower: Any, upper: Any, settings: dict[str, Any]) -> Any:
    """One generation's children: tournaments on ``badness`` (lower wins; size
    ``settings["tournament_size"]``) pick parents, paired first half with second half,
    then crossover and mutation as ``settings`` names them, with their rates and indices.
    All the generation's random words come from one draw."""
    import jax.numpy as jnp

    size, n = population.shape
    half = (size + 1) // 2
    words = draw_words(
        key, select=(2 * half, settings["tournament_size"]), pairs=(half, 1), cross=(half, n), mutate=(2 * half, n)
    )
    parents = population[tournament(words["select"], badness)]
    a, b = parents[:half], parents[half:]
    cross = sbx if settings["crossover"] == "sbx" else blend
    index = settings["eta_c"] if settings["crossover"] == "sbx" else settings["blend_alpha"]
    a, b = cross(words["cross"], words["pairs"], a, b, lower, upper, settings["crossover_rate"], index)
    children = jnp.concatenate([a, b])
    if settings["mutation"] == "polynomial":
        mutate, index = polynomial_mutation, settings["eta_m"]
    else:
        mutate, index = gaussian_mutation, settings["sigma"]
    return mutate(words["mutate"], children, lower, upper, settings["mutation_rate"], index)[:size]


def uniform_population(key: Any, size: int, lower: Any, upper: Any) -> Any:
    """``size`` points drawn uniformly from the box."""
    import jax

    return lower + (upper - lower) * jax.random.uniform(key, (size, lower.shape[0]), lower.dtype)
