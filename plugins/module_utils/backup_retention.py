# -*- coding: utf-8 -*-
# Copyright: (c) 2025, neo4j_azure.aks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Backups in Blob storage: the naming convention and the retention policy (pure code, no I/O).

Naming convention (written by roles/backup's script, read here)::

    <prefix>/<environment>/<database>/<database>-<yyyymmddTHHMMSSZ>.<dump|backup>

``.dump`` is a ``neo4j-admin database dump`` (Community), ``.backup`` a full ``neo4j-admin database
backup`` artifact (Enterprise). The timestamp is the UTC start of the backup. A backup is *complete* only
when its blob carries the metadata ``backup_complete=true``, set after the upload succeeded. Blobs under the
prefix that do not follow the convention are reported as ignored and never deleted.

Retention, per (environment, database), over complete backups only:

- the newest ``keep_last`` backups;
- the newest backup of each UTC day, for the ``keep_daily`` days ending today;
- the newest backup of each ISO week (Monday to Sunday, UTC), for the ``keep_weekly`` weeks ending this week;
- always the newest complete backup, whatever the numbers say.

Incomplete backups never count as kept ones. They are deleted once older than the grace period (measured
from the later of the name's timestamp and the blob's last write), so an upload still running is left alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple
from datetime import datetime, timedelta, timezone

DEFAULT_PREFIX = "neo4j-backups"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
COMPLETE_KEY = "backup_complete"
ARTIFACT_KINDS = ("dump", "backup")

_REST_RE = re.compile(
    r"^(?P<environment>[^/]+)/(?P<database>[^/]+)/(?P=database)-(?P<stamp>\d{8}T\d{6}Z)\.(?P<kind>dump|backup)$")

Backup = namedtuple("Backup", "name environment database created complete last_modified size kind")
Policy = namedtuple("Policy", "keep_last keep_daily keep_weekly incomplete_grace")


class Decision(namedtuple("Decision", "kept deleted pending reasons")):
    """kept: complete backups the policy keeps; deleted: everything else except pending; pending:
    incomplete backups still inside the grace period. reasons: backup name -> list of why kept/deleted."""


def utc(value):
    """A timezone-aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def parse_timestamp(text):
    """'20250102T030405Z' or an ISO 8601 date/time (naive = UTC) -> aware UTC datetime; ValueError if neither."""
    text = text.strip()
    try:
        return datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        pass
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return utc(datetime.fromisoformat(iso))
    except ValueError:
        raise ValueError("%r is not a timestamp (use ISO 8601, e.g. 2025-01-31T23:00:00Z, or 20250131T230000Z)"
                         % text)


def backup_name(prefix, environment, database, created, kind="dump"):
    """The blob name of a backup (the inverse of parse_backup_name)."""
    stem = "%s/%s/%s-%s.%s" % (environment, database, database, utc(created).strftime(STAMP_FORMAT), kind)
    return "%s/%s" % (prefix.strip("/"), stem) if prefix.strip("/") else stem


def listing_prefix(prefix, environment=None):
    """The name prefix to list: '<prefix>/' or '<prefix>/<environment>/' ('' lists the whole container)."""
    parts = [p for p in (prefix.strip("/"), environment) if p]
    return "".join(p + "/" for p in parts)


def parse_backup_name(name, prefix):
    """(environment, database, created, kind) for a name following the convention under prefix, else None."""
    head = listing_prefix(prefix)
    if not name.startswith(head):
        return None
    match = _REST_RE.match(name[len(head):])
    if not match:
        return None
    created = datetime.strptime(match.group("stamp"), STAMP_FORMAT).replace(tzinfo=timezone.utc)
    return match.group("environment"), match.group("database"), created, match.group("kind")


def is_complete(metadata):
    """True when the blob metadata marks the upload as finished (case-insensitive key and value)."""
    for key, value in (metadata or {}).items():
        if key.lower() == COMPLETE_KEY and str(value).strip().lower() == "true":
            return True
    return False


def to_backup(name, prefix, metadata=None, last_modified=None, size=None):
    """A Backup for a blob, or None when its name does not follow the convention."""
    parsed = parse_backup_name(name, prefix)
    if parsed is None:
        return None
    environment, database, created, kind = parsed
    return Backup(name, environment, database, created, is_complete(metadata),
                  utc(last_modified) if last_modified else None, size, kind)


def _newest_first(backups):
    return sorted(backups, key=lambda b: (b.created, b.name), reverse=True)


def _week_start(day):
    return day - timedelta(days=day.weekday())


def _keep_reasons(complete, policy, now):
    """name -> reasons to keep, for the complete backups of one database (newest first)."""
    reasons = {}

    def keep(backup, why):
        reasons.setdefault(backup.name, []).append(why)

    today = now.date()
    days = set(today - timedelta(days=i) for i in range(policy.keep_daily))
    this_week = _week_start(today)
    weeks = set(this_week - timedelta(weeks=i) for i in range(policy.keep_weekly))
    seen_days, seen_weeks = set(), set()
    for index, backup in enumerate(complete):
        if index < policy.keep_last:
            keep(backup, "last %d" % policy.keep_last)
        day = backup.created.date()
        if day in days and day not in seen_days:
            seen_days.add(day)
            keep(backup, "daily %s" % day.isoformat())
        week = _week_start(day)
        if week in weeks and week not in seen_weeks:
            seen_weeks.add(week)
            keep(backup, "weekly %s" % week.isoformat())
    if complete and complete[0].name not in reasons:
        keep(complete[0], "newest complete backup")
    return reasons


def decide(backups, policy, now):
    """Apply the retention policy to backups (any order, any databases); returns a Decision.

    Pure: the same input gives the same decision, in check mode or not.
    """
    if min(policy.keep_last, policy.keep_daily, policy.keep_weekly) < 0:
        raise ValueError("keep_last, keep_daily and keep_weekly must be 0 or more")
    now = utc(now)
    groups = {}
    for backup in backups:
        groups.setdefault((backup.environment, backup.database), []).append(backup)

    kept, deleted, pending, reasons = [], [], [], {}
    for key in sorted(groups):
        ordered = _newest_first(groups[key])
        complete = [b for b in ordered if b.complete]
        keep_reasons = _keep_reasons(complete, policy, now)
        for backup in ordered:
            if backup.complete:
                if backup.name in keep_reasons:
                    kept.append(backup)
                    reasons[backup.name] = keep_reasons[backup.name]
                else:
                    deleted.append(backup)
                    reasons[backup.name] = ["not kept by the policy"]
                continue
            last_write = max(d for d in (backup.created, backup.last_modified) if d is not None)
            if now - last_write > policy.incomplete_grace:
                deleted.append(backup)
                reasons[backup.name] = ["incomplete, older than the grace period"]
            else:
                pending.append(backup)
                reasons[backup.name] = ["incomplete, inside the grace period (upload may be running)"]
    return Decision(kept, deleted, pending, reasons)


def latest_complete(backups, before=None):
    """(environment, database) -> newest complete Backup created at or before `before` (all when None)."""
    out = {}
    for backup in _newest_first(backups):
        if not backup.complete or (before is not None and backup.created > utc(before)):
            continue
        out.setdefault((backup.environment, backup.database), backup)
    return out


def backup_info(backup, reasons=None):
    """A Backup as the plain dict modules return."""
    info = {
        "name": backup.name,
        "environment": backup.environment,
        "database": backup.database,
        "created": backup.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "complete": backup.complete,
        "kind": backup.kind,
        "size": backup.size,
    }
    if reasons is not None:
        info["reasons"] = list(reasons)
    return info
