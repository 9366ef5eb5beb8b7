"""Django's Redis cache, keeping one Redis client per connection pool.

Django's client makes a new `redis.Redis` for every cache call, and making one builds its table of
reply handlers anew: a few tenths of a millisecond of CPU each time. Every request reads its session
from this cache, so that cost was paid on every request. A client over a pool is safe to share between
threads (each command takes a connection from the pool), so one is kept per pool (and Django
keeps one cache object per thread).
"""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class _SharedClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _SharedClient
