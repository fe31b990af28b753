"""Everything TIaaS does in Galaxy's database, as parameterised SQL on the ``galaxy`` connection.

The connection's PostgreSQL role holds only the grant set documented in README.md, so nothing here may need more:
in particular no ``SELECT ... FOR UPDATE`` (that needs UPDATE) and no UPDATE at all.  Role creation is serialised
with a transaction-scoped advisory lock because ``role.name`` is not unique since Galaxy 24.2.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connections, transaction

log = logging.getLogger(__name__)

ALIAS = "galaxy"
# First key of the two-key advisory lock: "TIaa" as an int4, so TIaaS locks never collide with other users' keys.
LOCK_CLASS = 0x54496161
ROLE_TYPE = "system"
# Galaxy stores naive UTC timestamps and has no DB defaults: every INSERT sets now() AT TIME ZONE 'UTC'.


class GroupDeleted(Exception):
    """The training's group exists in Galaxy but an admin deleted it; TIaaS will not resurrect it."""


@dataclass(frozen=True)
class SessionUser:
    user_id: int | None  # None: a valid but anonymous session
    deleted: bool = False


@dataclass
class JoinResult:
    group_id: int
    role_id: int
    new_member: bool
    created: list[str] = field(default_factory=list)


def user_for_session(session_key: str) -> SessionUser | None:
    """The user of a *valid* Galaxy session, or None when there is no such valid session."""
    with connections[ALIAS].cursor() as cur:
        cur.execute(
            "SELECT s.user_id, u.deleted IS TRUE OR u.purged IS TRUE"
            " FROM galaxy_session s LEFT JOIN galaxy_user u ON u.id = s.user_id"
            " WHERE s.session_key = %s AND s.is_valid IS TRUE LIMIT 1",
            [session_key],
        )
        row = cur.fetchone()
    if row is None:
        return None
    return SessionUser(user_id=row[0], deleted=bool(row[1]) if row[0] is not None else False)


# Find the training's group and the live role of the same exact name linked to it, and add the user to the group
# when both are there: one statement, atomic by itself. Returns (group id, role id or NULL, group deleted, rows
# added), or no row when the group does not exist.
_JOIN_READY = (
    "WITH ready AS (SELECT g.id AS group_id, r.id AS role_id, g.deleted IS TRUE AS deleted FROM galaxy_group g"
    "  LEFT JOIN group_role_association gra ON gra.group_id = g.id"
    "  LEFT JOIN role r ON r.id = gra.role_id AND r.name = g.name AND r.deleted IS NOT TRUE"
    "  WHERE g.name = %(name)s ORDER BY r.id IS NULL, r.id LIMIT 1),"
    " added AS (INSERT INTO user_group_association (user_id, group_id, create_time, update_time)"
    "  SELECT %(user)s, group_id, (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC') FROM ready"
    "  WHERE role_id IS NOT NULL AND NOT deleted AND NOT EXISTS"
    "  (SELECT 1 FROM user_group_association u WHERE u.user_id = %(user)s AND u.group_id = ready.group_id)"
    "  ON CONFLICT DO NOTHING RETURNING id)"
    " SELECT group_id, role_id, deleted, (SELECT count(*) FROM added) FROM ready"
)


def _join_ready(cur, name: str, user_id: int) -> tuple | None:
    """The _JOIN_READY row when the group was ready (the user is a member now), else None."""
    cur.execute(_JOIN_READY, {"name": name, "user": user_id})
    row = cur.fetchone()
    if row is None or row[1] is None:
        return None
    if row[2]:
        raise GroupDeleted(name)
    return row


def _set_up(cur, name: str, created: list[str]) -> None:
    """Create whatever is missing of group, role and their association.  Caller holds the advisory lock."""
    cur.execute("SELECT id, deleted IS TRUE FROM galaxy_group WHERE name = %s", [name])
    row = cur.fetchone()
    if row is None:
        cur.execute(
            "INSERT INTO galaxy_group (name, create_time, update_time, deleted)"
            " VALUES (%s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', false)"
            " ON CONFLICT DO NOTHING RETURNING id",
            [name],
        )
        row = cur.fetchone()
        if row is None:  # created concurrently by something that does not take our lock (e.g. the old TIaaS)
            cur.execute("SELECT id FROM galaxy_group WHERE name = %s", [name])
            row = cur.fetchone()
        else:
            created.append("group")
        group_id = row[0]
    else:
        if row[1]:
            raise GroupDeleted(name)
        group_id = row[0]
    # Prefer a live role of the exact name already linked to the group, then the oldest live one.
    cur.execute(
        "SELECT r.id FROM role r WHERE r.name = %s AND r.deleted IS NOT TRUE"
        " ORDER BY NOT EXISTS"
        " (SELECT 1 FROM group_role_association gra WHERE gra.group_id = %s AND gra.role_id = r.id),"
        " r.id LIMIT 1",
        [name, group_id],
    )
    row = cur.fetchone()
    if row is None:
        cur.execute(
            "INSERT INTO role (name, description, type, deleted, create_time, update_time)"
            " VALUES (%s, %s, %s, false, (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')) RETURNING id",
            [name, f"TIaaS training {name[len('training-') :]}", ROLE_TYPE],
        )
        row = cur.fetchone()
        created.append("role")
    role_id = row[0]
    cur.execute(
        "INSERT INTO group_role_association (group_id, role_id, create_time, update_time)"
        " SELECT %s, %s, (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC') WHERE NOT EXISTS"
        " (SELECT 1 FROM group_role_association WHERE group_id = %s AND role_id = %s)"
        " ON CONFLICT DO NOTHING RETURNING id",
        [group_id, role_id, group_id, role_id],
    )
    if cur.fetchone() is not None:
        created.append("group-role association")


def join(name: str, user_id: int) -> JoinResult:
    """Make sure group and role ``name`` exist and are linked, and add the user to the group, atomically.

    Once the group is ready (every join but the first), that is one statement. Otherwise one transaction takes the
    training's advisory lock, creates what is still missing and adds the member.
    """
    created: list[str] = []
    with connections[ALIAS].cursor() as cur:
        row = _join_ready(cur, name, user_id)
        if row is None:
            with transaction.atomic(using=ALIAS):
                cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_CLASS, name])
                row = _join_ready(cur, name, user_id)  # someone may have finished the set-up while we waited
                if row is None:
                    _set_up(cur, name, created)
                    row = _join_ready(cur, name, user_id)
    group_id, role_id, _deleted, added = row
    new_member = added > 0
    # Audit trail (Galaxy user id only, no names): one line per join.
    log.info("join %s user=%s new_member=%s created=%s", name, user_id, new_member, ",".join(created) or "-")
    return JoinResult(group_id=group_id, role_id=role_id, new_member=new_member, created=created)


def disassociate(name: str, dry_run: bool = False) -> int:
    """Remove the link between group ``name`` and role(s) of exactly the same name; return how many links."""
    with transaction.atomic(using=ALIAS), connections[ALIAS].cursor() as cur:
        if dry_run:
            cur.execute(
                "SELECT count(*) FROM group_role_association gra JOIN galaxy_group g ON g.id = gra.group_id"
                " JOIN role r ON r.id = gra.role_id WHERE g.name = %s AND r.name = %s",
                [name, name],
            )
            return cur.fetchone()[0]
        cur.execute(
            "DELETE FROM group_role_association gra USING galaxy_group g, role r"
            " WHERE gra.group_id = g.id AND gra.role_id = r.id AND g.name = %s AND r.name = %s",
            [name, name],
        )
        return cur.rowcount


def member_ids(name: str) -> list[int]:
    with connections[ALIAS].cursor() as cur:
        cur.execute(
            "SELECT uga.user_id FROM user_group_association uga JOIN galaxy_group g ON g.id = uga.group_id"
            " WHERE g.name = %s ORDER BY uga.user_id",
            [name],
        )
        return [r[0] for r in cur.fetchall()]


def job_id_lower_bound(since: dt.datetime, margin: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """A job id at or below the first job created at ``since - margin``.

    Job ids grow with time (they come from a sequence when the job row is inserted, and create_time is set at that
    moment), so a binary search over the primary key finds the bound with ~20 index probes instead of scanning the
    unindexed create_time column.  The margin absorbs small clock/commit reordering; the exact create_time filter
    is applied afterwards anyway.  Cached per minute.
    """
    target = (since - margin).replace(second=0, microsecond=0)
    cache_key = f"tiaas:job-lb:{target.isoformat()}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    with connections[ALIAS].cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM job")
        lo, hi = cur.fetchone()
        if lo is None:
            return 0
        hi += 1  # answer in [lo, hi]; hi means "none yet"
        while lo < hi:
            mid = (lo + hi) // 2
            cur.execute("SELECT id, create_time FROM job WHERE id >= %s ORDER BY id LIMIT 1", [mid])
            row = cur.fetchone()
            if row is None or row[1] is None or row[1] >= target:
                hi = mid
            else:
                lo = row[0] + 1
    cache.set(cache_key, lo, 60)
    return lo


# --- the instructors' dashboard and the metrics (read-only) ---------------------------------------------------------
# Every query filters jobs by ``user_id = ANY(members)`` (indexed), ``id >= lower`` (the job_id_lower_bound of the
# window) and the exact ``create_time >= since``.  The member arrays are cast to int[] (galaxy_user.id's type):
# psycopg 3 sends small numbers as smallint[], and comparing integer to smallint per row made the scan 3x slower.


def window_job_counts(members: list[int], lower: int, since: dt.datetime, bucket_seconds: int) -> list[tuple]:
    """One scan of the window, three aggregations: rows of (grouping, tool_id, user_id, bucket, state, count).

    ``grouping`` is 0b011 for (tool_id, state), 0b101 for (user_id, state) and 0b110 for (bucket, state).
    """
    with connections[ALIAS].cursor() as cur:
        cur.execute(
            "SELECT GROUPING(tool_id, user_id, b), tool_id, user_id, b, state, count(*) FROM ("
            " SELECT tool_id, user_id, state, floor(extract(epoch FROM create_time) / %(bucket)s)::bigint AS b"
            " FROM job WHERE user_id = ANY(%(members)s::int[]) AND id >= %(lower)s AND create_time >= %(since)s) j"
            " GROUP BY GROUPING SETS ((tool_id, state), (user_id, state), (b, state))",
            {"members": members, "lower": lower, "since": since, "bucket": bucket_seconds},
        )
        return cur.fetchall()


def recent_jobs(members: list[int], lower: int, since: dt.datetime, limit: int) -> list[tuple]:
    """The newest jobs of the window: (id, user_id, tool_id, state, create_time, update_time)."""
    with connections[ALIAS].cursor() as cur:
        cur.execute(
            "SELECT id, user_id, tool_id, state, create_time, update_time FROM job"
            " WHERE user_id = ANY(%s::int[]) AND id >= %s AND create_time >= %s ORDER BY id DESC LIMIT %s",
            [members, lower, since, limit],
        )
        return cur.fetchall()


def job_state_counts(members: list[int], lower: int, since: dt.datetime) -> list[tuple[str | None, int]]:
    """(state, count) of the members' jobs created since ``since``."""
    with connections[ALIAS].cursor() as cur:
        cur.execute(
            "SELECT state, count(*) FROM job WHERE user_id = ANY(%s::int[]) AND id >= %s AND create_time >= %s"
            " GROUP BY state",
            [members, lower, since],
        )
        return cur.fetchall()


def invocation_state_counts(members: list[int], since: dt.datetime) -> list[tuple[str | None, int]]:
    """(state, count) of the members' workflow invocations created since ``since``."""
    with connections[ALIAS].cursor() as cur:
        cur.execute(
            "SELECT wi.state, count(*) FROM workflow_invocation wi JOIN history h ON h.id = wi.history_id"
            " WHERE h.user_id = ANY(%s::int[]) AND wi.create_time >= %s GROUP BY wi.state",
            [members, since],
        )
        return cur.fetchall()


def recent_invocations(members: list[int], since: dt.datetime, limit: int) -> list[tuple]:
    """The newest invocations: (id, user_id, workflow name, state, create_time, update_time)."""
    with connections[ALIAS].cursor() as cur:
        cur.execute(
            "SELECT wi.id, h.user_id, w.name, wi.state, wi.create_time, wi.update_time"
            " FROM workflow_invocation wi JOIN history h ON h.id = wi.history_id"
            " JOIN workflow w ON w.id = wi.workflow_id"
            " WHERE h.user_id = ANY(%s::int[]) AND wi.create_time >= %s ORDER BY wi.id DESC LIMIT %s",
            [members, since, limit],
        )
        return cur.fetchall()
