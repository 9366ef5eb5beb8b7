"""Django's PostgreSQL backend, with a health check that costs no round trip while the connection
is sound.

With CONN_HEALTH_CHECKS, Django runs `SELECT 1` before the first statement of every request made
on a kept connection, so that a connection the server ended since (a restart, a terminated
backend, an idle timeout) is replaced instead of failing the request. That is one more round trip
on every request, the status poll included. A connection the server ended has something waiting
on its socket: the server's last message, or the end of the stream. A sound, idle connection has
nothing to read (this project listens to no notifications). So the socket is looked at first,
without waiting, and Django's own check runs only when something is there.

A connection that went quiet without a word (a network cut) is not found by either check before
its statement runs: SELECT 1 would wait on it just as the statement does.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if self.pool or self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if _something_to_read(self.connection) and not self.is_usable():
            self.close()
        self.health_check_done = True


def _something_to_read(connection) -> bool:
    """True when the server sent something since the last statement, or the socket is gone."""
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, base.Database.Error):
        return True
