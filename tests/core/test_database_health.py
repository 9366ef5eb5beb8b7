"""A kept database connection that the server ended is replaced before a request uses it, and a
sound one is kept: no request fails because PostgreSQL restarted or ended a backend between two
requests."""

import time

import pytest
from django.db import connection, connections

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _request(kept):
    """What a request does with the kept connection: Django's request_started handler, then one
    statement; the backend that answered it."""
    kept.close_if_unusable_or_obsolete()
    with kept.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def kept(transactional_db):
    """A connection of the web process's kind, kept between requests, beside the test's own."""
    own = connections["default"]
    kept = type(own)({**own.settings_dict, "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}, "default")
    yield kept
    kept.close()


def test_a_sound_connection_is_kept_from_request_to_request(kept):
    first = _request(kept)
    assert [_request(kept) for _ in range(5)] == [first] * 5


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it(kept):
    ended = _request(kept)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [ended])
        for _ in range(100):  # the backend is gone once the server no longer lists it
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [ended])
            if not cursor.fetchone()[0]:
                break
            time.sleep(0.05)
    replaced = _request(kept)  # would raise OperationalError had the ended connection been used
    assert replaced != ended
    assert _request(kept) == replaced


def test_without_the_check_the_ended_connection_fails_the_request(kept):
    """The outcome the check prevents, shown on the same set-up."""
    from django.db import OperationalError

    kept.settings_dict["CONN_HEALTH_CHECKS"] = False
    ended = _request(kept)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [ended])
    time.sleep(0.5)
    with pytest.raises(OperationalError):
        _request(kept)
