"""Data for the instructors' dashboard: bounded, index-friendly queries over the members' recent jobs."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings

from training import galaxy
from training.pseudonyms import pseudonym

RECENT_INVOCATIONS = 50
STATES = ["new", "queued", "running", "ok", "error", "paused", "deleted", "other"]
KNOWN = set(STATES) - {"other"}
STATE_COLOURS = {
    "new": "#9e9e9e",
    "queued": "#f0ad4e",
    "running": "#2f7ed8",
    "ok": "#2e9d4b",
    "error": "#c9302c",
    "paused": "#8e6bbf",
    "deleted": "#555555",
    "other": "#bbbbbb",
}


def short_tool(tool_id: str | None) -> str:
    """``toolshed.g2.bx.psu.edu/repos/iuc/fastqc/fastqc/0.74`` -> ``fastqc``."""
    if not tool_id:
        return "?"
    parts = tool_id.split("/")
    if "repos" in parts and len(parts) >= 2:
        return parts[-2]
    return tool_id


def norm_state(state: str | None) -> str:
    if state in KNOWN:
        return state
    if state in {"upload", "waiting", "queued_new"}:
        return "queued"
    if state in {"stop", "stopped", "deleting", "deleted_new"}:
        return "deleted"
    if state in {"failed"}:
        return "error"
    return "other"


@dataclass
class Dashboard:
    since: dt.datetime
    hours: int
    members: int
    total_jobs: int = 0
    states: dict[str, int] = field(default_factory=dict)
    tools: list[dict] = field(default_factory=list)
    participants: list[dict] = field(default_factory=list)
    recent: list[dict] = field(default_factory=list)
    timeline: list[dict] = field(default_factory=list)
    bucket_minutes: int = 10
    invocations: list[dict] = field(default_factory=list)
    invocation_states: dict[str, int] = field(default_factory=dict)
    invocation_total: int = 0


def build(training, hours: int, now: dt.datetime | None = None) -> Dashboard:
    now = now or dt.datetime.now(dt.UTC)
    since = (now - dt.timedelta(hours=hours)).astimezone(dt.UTC).replace(tzinfo=None)
    members = galaxy.member_ids(training.galaxy_name)
    board = Dashboard(since=since.replace(tzinfo=dt.UTC), hours=hours, members=len(members))
    board.states = dict.fromkeys(STATES, 0)
    board.bucket_minutes = max(5, (hours * 60) // 36 // 5 * 5)
    if not members:
        return board
    names: dict[int, tuple[str, str]] = {uid: pseudonym(training.pseudonym_salt, uid) for uid in members}
    lower = galaxy.job_id_lower_bound(since)
    bucket = board.bucket_minutes * 60
    per_tool: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATES, 0))
    per_user: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATES, 0))
    buckets: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATES, 0))
    for grouping, tool_id, uid, b, state, count in galaxy.window_job_counts(members, lower, since, bucket):
        s = norm_state(state)
        if grouping == 0b011:  # (tool_id, state)
            per_tool[short_tool(tool_id)][s] += count
            board.states[s] += count
        elif grouping == 0b101:  # (user_id, state)
            per_user[uid][s] += count
        elif grouping == 0b110:  # (b, state)
            buckets[b][s] += count
    board.total_jobs = sum(board.states.values())
    board.tools = sorted(
        ({"tool": t, "counts": [c[s] for s in STATES], "total": sum(c.values())} for t, c in per_tool.items()),
        key=lambda r: (-r["total"], r["tool"]),
    )
    board.participants = sorted(
        (
            {
                "label": names[uid][0],
                "colour": names[uid][1],
                "counts": [per_user[uid][s] for s in STATES] if uid in per_user else [0] * len(STATES),
                "total": sum(per_user[uid].values()) if uid in per_user else 0,
            }
            for uid in members
        ),
        key=lambda r: r["label"],
    )
    first = int(since.replace(tzinfo=dt.UTC).timestamp()) // bucket
    last = int(now.timestamp()) // bucket
    board.timeline = [
        {
            "start": dt.datetime.fromtimestamp(b * bucket, dt.UTC),
            "counts": buckets[b] if b in buckets else dict.fromkeys(STATES, 0),
        }
        for b in range(first, last + 1)
    ]
    unknown = ("?", "#999999")
    board.recent = [
        {
            "label": names.get(uid, unknown)[0],
            "colour": names.get(uid, unknown)[1],
            "tool": short_tool(tool_id),
            "state": norm_state(state),
            "raw_state": state,
            "created": ct.replace(tzinfo=dt.UTC) if ct else None,
            "updated": ut.replace(tzinfo=dt.UTC) if ut else None,
        }
        for _id, uid, tool_id, state, ct, ut in galaxy.recent_jobs(
            members, lower, since, settings.TIAAS["STATUS_RECENT_JOBS"]
        )
    ]
    board.invocation_states = {state or "?": count for state, count in galaxy.invocation_state_counts(members, since)}
    board.invocation_total = sum(board.invocation_states.values())
    board.invocations = [
        {
            "label": names.get(uid, unknown)[0],
            "colour": names.get(uid, unknown)[1],
            "workflow": wf_name or "(unnamed)",
            "state": state or "?",
            "created": ct.replace(tzinfo=dt.UTC) if ct else None,
            "updated": ut.replace(tzinfo=dt.UTC) if ut else None,
        }
        for _iid, uid, wf_name, state, ct, ut in galaxy.recent_invocations(members, since, RECENT_INVOCATIONS)
    ]
    return board
