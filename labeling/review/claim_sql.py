"""The claim written as SQL: one statement picks, checks and lends a queued clip; on PostgreSQL the
same statement marks it assigned and counts the claim on the shift."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from core.rows import db_value
from labeling.models import (
    SUPERVISOR_PURPOSES,
    Assignment,
    CategoryOptOut,
    Clip,
    ProjectMember,
    Purpose,
    Shift,
)
from labeling.servability import lendable_sql


def _claim_sql(standby: bool = False) -> str:
    """One statement picks, checks and lends the oldest queued clip this annotator never had.

    Linkability limit: the annotator must have had fewer than LINKABILITY_MAX_CLIPS clips of the
    same owner within LINKABILITY_DAYS, so nobody hears enough of one voice to know it. Only clips of
    the annotator's projects are lent. A clip an
    annotator once flagged goes only to someone allowed flagged content now (see _flagged_allowed)
    who did not opt out of its category.

    It inserts nothing when the annotator already holds an open assignment (a supervisor's listening
    does not count); with `standby`, only when they hold one they are working on and none in
    standby. Whether the clip may be lent at all (consent, deletion requests, legal holds, state) is
    the servability rule's SQL fragment (labeling.servability.lendable_sql), read inside the
    statement, so a clip whose consent is gone is never lent whatever state its row is in. On
    PostgreSQL concurrent claimers skip rows another transaction
    has locked; SQLite serializes writers and needs no lock clause. The unique index on open
    assignments per clip is the last guard.
    """
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    clip, assignment = Clip._meta.db_table, Assignment._meta.db_table
    opt_out = CategoryOptOut._meta.db_table
    member = ProjectMember._meta.db_table
    # Written as the partial unique index one_open_assignment_per_annotator is, so that it serves the check.
    supervisors = ", ".join(f"'{purpose}'" for purpose in SUPERVISOR_PURPOSES)
    held = (f"SELECT 1 FROM {assignment} h WHERE h.annotator_id = %s AND h.state = 'open' "
            f"AND NOT (h.purpose IN ({supervisors}))")
    if standby:  # one parameter more: the annotator, for the second test
        holding = (f"EXISTS ({held} AND NOT h.standby) AND NOT EXISTS (SELECT 1 FROM {assignment} w "
                   "WHERE w.annotator_id = %s AND w.state = 'open' AND w.standby)")
    else:
        holding = f"NOT EXISTS ({held})"
    return f"""
        INSERT INTO {assignment} (id, clip_id, account_id, annotator_id, shift_id, state, created_at, lease_expires_at,
                                  standby)
        SELECT %s, picked.id, picked.account_id, %s, %s, 'open', %s, %s, {'TRUE' if standby else 'FALSE'} FROM (
            SELECT c.id, c.account_id FROM {clip} c
            WHERE {lendable_sql("c")}
              AND c.project_id IN (SELECT m.project_id FROM {member} m WHERE m.user_id = %s AND m.role = 'annotator')
              AND NOT EXISTS (SELECT 1 FROM {assignment} a WHERE a.clip_id = c.id AND a.annotator_id = %s)
              AND (SELECT count(*) FROM {assignment} k WHERE k.annotator_id = %s AND k.account_id = c.account_id
                   AND k.created_at > %s) < %s
              AND (c.flag_category = '' OR (%s AND NOT EXISTS (
                   SELECT 1 FROM {opt_out} o WHERE o.user_id = %s AND o.category = c.flag_category)))
            ORDER BY c.queued_at, c.id
            LIMIT 1{lock}
        ) AS picked
        WHERE {holding}
        RETURNING clip_id, account_id"""


def claim_lend(claim_params: list, stamp, shift_params: list, standby: bool) -> tuple | None:
    """Run the claim statement; if it lent a clip, mark the clip assigned and count the claim on the
    shift. Returns (clip_id, account_id, clip marked?) or None. On PostgreSQL one statement does all
    three; elsewhere three, in the caller's transaction."""
    clip, shift = Clip._meta.db_table, Shift._meta.db_table
    mark = f"UPDATE {clip} SET status = 'assigned', updated_at = %s WHERE id {{}} AND status = 'queued'"
    count = (f"UPDATE {shift} SET last_claim_at = %s, last_active_at = %s, stretch_started_at = %s, "
             "clips_claimed = clips_claimed + 1 WHERE id = %s")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH lent AS ({_claim_sql(standby)}), "
                f"c AS ({mark.format('IN (SELECT clip_id FROM lent)')} RETURNING id), "
                f"s AS ({count} AND EXISTS (SELECT 1 FROM lent)) "
                "SELECT lent.clip_id, lent.account_id, EXISTS (SELECT 1 FROM c) FROM lent",
                [*claim_params, stamp, *shift_params])
            return cursor.fetchone()
        cursor.execute(_claim_sql(standby), claim_params)
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(mark.format("= %s"), [stamp, row[0]])
        marked = cursor.rowcount == 1
        cursor.execute(count, shift_params)
        return row[0], row[1], marked


def close_submitted(*, assignment_id: uuid.UUID, annotator: AbstractBaseUser, now: datetime) -> tuple | None:
    """Close the open, leased assignment as submitted, mark its shift active and, for a
    transcription, its clip labeled. Returns (clip_id, account_id, purpose, clip labeled?) or None
    when the assignment was not open. On PostgreSQL one statement does all three; elsewhere three,
    in the caller's transaction. A supervisor's review is closed by the escalation's outcome instead."""
    assignment, shift, clip = Assignment._meta.db_table, Shift._meta.db_table, Clip._meta.db_table
    close = (f"UPDATE {assignment} SET state = 'submitted', closed_at = %s, draft = NULL "
             "WHERE id = %s AND annotator_id = %s AND state = 'open' AND lease_expires_at > %s "
             "AND NOT standby AND purpose IN ('transcription', 'second_opinion', 'gold', 'agreement') "
             "RETURNING clip_id, account_id, shift_id, purpose")
    params = [db_value(Assignment, "closed_at", now), db_value(Assignment, "id", assignment_id), annotator.pk,
              db_value(Assignment, "lease_expires_at", now)]
    stamp = db_value(Clip, "updated_at", now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH a AS ({close}), "
                f"s AS (UPDATE {shift} SET last_active_at = %s WHERE id IN (SELECT shift_id FROM a)), "
                f"c AS (UPDATE {clip} SET status = 'labeled', updated_at = %s "
                "WHERE id IN (SELECT clip_id FROM a WHERE purpose = 'transcription') AND status = 'assigned' "
                "RETURNING id) "
                "SELECT a.clip_id, a.account_id, a.purpose, EXISTS (SELECT 1 FROM c) FROM a",
                [*params, stamp, stamp])
            return cursor.fetchone()
        cursor.execute(close, params)
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(f"UPDATE {shift} SET last_active_at = %s WHERE id = %s", [stamp, row[2]])
        if row[3] != Purpose.TRANSCRIPTION:
            return row[0], row[1], row[3], False
        cursor.execute(f"UPDATE {clip} SET status = 'labeled', updated_at = %s WHERE id = %s AND status = 'assigned'",
                       [stamp, row[0]])
        return row[0], row[1], row[3], cursor.rowcount == 1
