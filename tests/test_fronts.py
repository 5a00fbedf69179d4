"""Non-dominated sorting, crowding distance and front indicators against brute force."""

import itertools

import numpy as np
import pytest

from optbench.fronts import crowding_distance, hypervolume_2d, igd, igd_plus, nondominated_ranks


def brute_ranks(f: np.ndarray) -> list[int]:
    """Fronts by definition: peel off the points no remaining point dominates."""
    dominates = lambda a, b: (a <= b).all() and (a < b).any()
    left, ranks, rank = set(range(len(f))), [None] * len(f), 0
    while left:
        front = {i for i in left if not any(dominates(f[j], f[i]) for j in left)}
        for i in front:
            ranks[i] = rank
        left -= front
        rank += 1
    return ranks


def brute_crowding(f: np.ndarray, ranks: list[int]) -> np.ndarray:
    distance = np.zeros(len(f))
    for rank in set(ranks):
        members = [i for i in range(len(f)) if ranks[i] == rank]
        for k in range(f.shape[1]):
            order = sorted(members, key=lambda i: (f[i, k], i))
            span = f[order[-1], k] - f[order[0], k]
            distance[order[0]] = distance[order[-1]] = np.inf
            for a, i, b in zip(order, order[1:], order[2:]):
                distance[i] += (f[b, k] - f[a, k]) / span if span > 0 else 0.0
    return distance


def random_sets():
    rng = np.random.default_rng(0)
    for trial in range(12):
        n, m = (8, 50)[trial % 4 // 2], (2, 3)[trial % 3 // 2]  # few shapes: each compiles once
        if trial % 2:  # small integers: many ties and duplicate points
            yield rng.integers(0, 5, (n, m)).astype(float)
        else:
            yield rng.random((n, m))


@pytest.mark.parametrize("f", list(random_sets()))
def test_ranks_and_crowding_match_brute_force(f):
    ranks = np.asarray(nondominated_ranks(f))
    assert ranks.tolist() == brute_ranks(f)
    np.testing.assert_allclose(np.asarray(crowding_distance(f, ranks)), brute_crowding(f, ranks.tolist()), rtol=1e-12)


def test_non_finite_points_rank_last():
    f = np.array([[1.0, 2.0], [np.nan, 0.0], [2.0, 1.0], [np.nan, np.nan], [3.0, 3.0], [5.0, np.nan]])
    ranks = np.asarray(nondominated_ranks(f))
    # NaN counts as +inf: (inf, 0) still has the best second objective, so it stays in
    # front 0; (inf, inf) is dominated by everything finite, (5, inf) by (3, 3).
    assert ranks.tolist() == [0, 0, 0, 3, 1, 2]
    assert not np.isnan(np.asarray(crowding_distance(f, ranks))).any()


def exact_area(points: np.ndarray, ref: np.ndarray) -> float:
    """The union of the boxes [p, ref] by coordinate compression: sum of grid cells covered."""
    inside = points[(points < ref).all(axis=1)]
    xs, ys = np.unique(np.append(inside[:, 0], ref[0])), np.unique(np.append(inside[:, 1], ref[1]))
    area = 0.0
    for (x0, x1), (y0, y1) in itertools.product(itertools.pairwise(xs), itertools.pairwise(ys)):
        if ((inside[:, 0] <= x0) & (inside[:, 1] <= y0)).any():
            area += (x1 - x0) * (y1 - y0)
    return area


@pytest.mark.parametrize("seed", range(5))
def test_hypervolume_2d_is_exact(seed):
    rng = np.random.default_rng(seed)
    points = rng.random((40, 2)) * 1.3  # some outside the reference box, some dominated
    ref = np.array([1.1, 1.1])
    assert float(hypervolume_2d(points, ref)) == pytest.approx(exact_area(points, ref), rel=1e-12)


def test_hypervolume_of_simple_fronts():
    assert float(hypervolume_2d(np.array([[0.0, 0.0]]), [1.0, 1.0])) == 1.0
    assert float(hypervolume_2d(np.array([[0.0, 0.5], [0.5, 0.0]]), [1.0, 1.0])) == pytest.approx(0.75)
    assert float(hypervolume_2d(np.array([[2.0, 0.0]]), [1.0, 1.0])) == 0.0


def test_igd_and_igd_plus_by_hand():
    front = np.array([[0.0, 1.0], [1.0, 0.0]])
    found = np.array([[0.0, 2.0]])
    # IGD: distances 1 and sqrt(1 + 4); IGD+: only the excess, (0, 1) and (0, 2).
    assert float(igd(found, front)) == pytest.approx((1 + np.sqrt(5)) / 2)
    assert float(igd_plus(found, front)) == pytest.approx((1 + 2) / 2)
    assert float(igd(front, front)) == 0.0 and float(igd_plus(front - 0.1, front)) == 0.0


@pytest.mark.parametrize("f", list(random_sets()))
def test_ranks_match_pymoo_ties_included(f):
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    expected = np.empty(len(f), int)
    for rank, front in enumerate(NonDominatedSorting().do(f)):
        expected[front] = rank
    assert np.asarray(nondominated_ranks(f)).tolist() == expected.tolist()
