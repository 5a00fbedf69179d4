import threading

import pytest

from optbench.caches.program_cache import ProgramCache


def test_the_least_recently_used_entry_goes_first_and_is_made_again():
    made = []
    cache = ProgramCache(size=2)

    def get(key):
        value, cost = cache.get(key, lambda: made.append(key) or key.upper())
        return value, cost is not None

    assert get("a") == ("A", True) and get("b") == ("B", True)
    assert get("a") == ("A", False)  # "a" is now the most recently used
    get("c")  # evicts "b"
    assert len(cache) == 2 and get("a") == ("A", False)
    assert get("b") == ("B", True) and made == ["a", "b", "c", "b"]


def test_a_value_made_on_another_thread_is_made_once_and_its_cost_goes_to_its_first_user():
    cache, made, started, release = ProgramCache(), [], threading.Event(), threading.Event()

    def make():
        started.set()
        release.wait(5)
        made.append(1)
        return "program"

    prefetch = threading.Thread(target=cache.prefetch, args=("key", make))
    prefetch.start()
    started.wait(5)
    release.set()  # the caller below waits for the thread making it instead of making it again
    first = cache.get("key", lambda: pytest.fail("made twice"))
    prefetch.join()
    second = cache.get("key", lambda: pytest.fail("made twice"))
    assert made == [1] and first[0] == second[0] == "program"
    assert first[1] is not None and first[1].seconds > 0 and first[1].from_cache is False
    assert second[1] is None


def test_an_error_while_prefetching_is_raised_to_the_user_who_then_can_try_again():
    cache = ProgramCache()
    cache.prefetch("key", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cache.get("key", lambda: 1 / 0)
    assert cache.get("key", lambda: "made")[0] == "made"
