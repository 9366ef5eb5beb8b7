"""The Redis cache (sessions live in it) keeps one client per connection pool and answers from
several threads at once."""


import pytest
from django.conf import settings
from django.core.cache import caches

from tests.factories import in_threads

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="the embedded default has no Redis")


def test_one_client_serves_every_call_of_a_thread():
    cache = caches["default"]
    cache.set("cache-test:a", {"n": 1}, 30)
    first = cache._cache.get_client("cache-test:a")
    assert cache.get("cache-test:a") == {"n": 1}
    assert cache._cache.get_client("cache-test:b", write=True) is first


def test_threads_read_and_write_without_mixing_answers():
    wrong = []

    def work(n: int) -> None:
        cache = caches["default"]
        for i in range(200):
            cache.set(f"cache-test:{n}", (n, i), 30)
            if cache.get(f"cache-test:{n}") != (n, i):
                wrong.append((n, i))

    in_threads(work, 8)
    assert wrong == []
