"""The budget's stop tests: one order of precedence for every driver, and one way to build a budget."""

from optbench.budget import STOP_ORDER, Budget, budget_of
from optbench.result import Status


def test_the_first_bound_that_holds_in_one_order_is_why_a_run_stops():
    budget = Budget(max_steps=10, max_evals=100, max_time=5.0, target=1.0, max_epochs=50)
    everything = dict(loss=0.5, steps=10, evals=200, elapsed=9.0)
    assert budget.stop_reason(**everything) is Status.TARGET_REACHED
    assert budget.stop_reason(**{**everything, "loss": 2.0}) is Status.MAX_STEPS
    assert budget.stop_reason(steps=9, evals=100, next_cost=1, elapsed=9.0) is Status.MAX_EVALS  # 101 > 100
    assert budget.stop_reason(steps=9, evals=99, next_cost=1, elapsed=9.0) is Status.MAX_EPOCHS  # 99 >= 50 passes
    assert budget.stop_reason(elapsed=5.0) is Status.MAX_TIME
    assert budget.stop_reason(loss=1.5, steps=9, evals=49, next_cost=1, elapsed=4.9) is None
    assert Budget(max_evals=100).stop_reason(loss=-1e9, steps=10**6, evals=100) is None  # no target, no step bound
    assert STOP_ORDER[0] is Status.TARGET_REACHED and STOP_ORDER[-1] is Status.MAX_TIME


def test_limits_given_replace_a_suites_budget_as_a_whole():
    suite = Budget(max_steps=50, target=1e-3)
    assert budget_of(suite, max_steps=None, max_evals=None) is suite
    assert budget_of(suite, max_evals=200) == Budget(max_evals=200)  # the suite's target goes too
    assert budget_of(max_steps=None) == Budget() == Budget(max_steps=1000)
