from optbench.cache import CompiledCache


def test_the_least_recently_used_entry_goes_first_and_is_made_again():
    made = []
    cache = CompiledCache(size=2)

    def get(key):
        return cache.get(key, lambda: made.append(key) or key.upper())

    assert get("a") == ("A", True) and get("b") == ("B", True)
    assert get("a") == ("A", False)  # "a" is now the most recently used
    get("c")  # evicts "b"
    assert len(cache) == 2 and get("a") == ("A", False)
    assert get("b") == ("B", True) and made == ["a", "b", "c", "b"]
