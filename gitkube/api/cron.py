"""Cron schedules: a CronJob's ``schedule`` and ``timeZone`` checked and turned into times.

Kubernetes parses schedules with robfig/cron's standard 5-field format plus the
``@hourly``-style macros; gitkube uses croniter for the same grammar. This module
is the one place that knows croniter: ``check_schedule`` gives the sentences
validation shows, ``Schedule`` answers "when is the next run after t" and "which
is the latest run in (after, until]" in UTC, computed in the CronJob's time zone.

Daylight-saving changes follow Vixie cron: a run whose wall-clock time is skipped
by spring-forward happens at the first moment after the gap, once; a run with a
fixed hour inside the repeated fall-back hour happens once (the first time), while
schedules with a wildcard hour keep running every real hour. Each run is a distinct
UTC instant, which is what names a CronJob's Job.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from croniter import croniter

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
#: More catch-up candidates than this between two passes: find the latest by stepping back.
_MAX_FORWARD_STEPS = 100


def check_schedule(schedule: str) -> str | None:
    """None when Kubernetes would accept ``schedule``, else a sentence saying what is wrong."""
    text = schedule.strip()
    if not text:
        return "field 'schedule' is required (5 fields such as '*/5 * * * *', or @hourly)"
    if text.startswith(("TZ=", "CRON_TZ=")):
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if text.startswith("@"):
        if text.lower() in MACROS:
            return None
        return (f"unsupported macro {text!r}: use one of {', '.join(MACROS)} "
                "or a 5-field schedule")
    fields = text.split()
    if len(fields) != 5:
        return (f"{text!r} has {len(fields)} fields; a schedule has 5 (minute hour day-of-month "
                "month day-of-week), e.g. '*/5 * * * *'")
    if not croniter.is_valid(text):
        return f"{text!r} is not a valid cron schedule (minute hour day-of-month month day-of-week)"
    return None


def check_time_zone(name: str) -> str | None:
    """None for a known IANA time zone name, else a sentence."""
    if not name or name != name.strip() or name.startswith(("/", ".")) or ".." in name:
        return f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or Etc/UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or Etc/UTC"
    return None


@dataclass(frozen=True)
class Schedule:
    """A checked schedule in a time zone (UTC when the CronJob names none)."""

    expression: str
    time_zone: str = ""

    @property
    def zone(self) -> dt.tzinfo:
        return zoneinfo.ZoneInfo(self.time_zone) if self.time_zone else dt.UTC

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first run strictly after ``moment``, in UTC."""
        local = moment.astimezone(self.zone)
        runs = croniter(self.expression.lower() if self.expression.startswith("@")
                        else self.expression, local)
        while True:
            candidate: dt.datetime = runs.get_next(dt.datetime)
            if not self._repeated_run(candidate):
                return candidate.astimezone(dt.UTC).replace(fold=0)

    def latest_between(self, after: dt.datetime, until: dt.datetime) -> tuple[dt.datetime | None,
                                                                                 int]:
        """(the latest run in (after, until], how many runs fell in it); (None, 0) if none.

        The count stops at 101 ("more than 100"), as Kubernetes' controller does.
        """
        count, latest = 0, None
        moment = after
        while count <= _MAX_FORWARD_STEPS:
            moment = self.next_after(moment)
            if moment > until:
                return latest, count
            latest, count = moment, count + 1
        return self._latest_before(until), count

    def _latest_before(self, until: dt.datetime) -> dt.datetime:
        # Runs are whole minutes: the latest at or before ``until`` is the latest before the
        # next second; stepping back skips the runs the DST rule drops.
        probe = until.replace(microsecond=0) + dt.timedelta(seconds=1)
        runs = croniter(self.expression.lower() if self.expression.startswith("@")
                        else self.expression, probe.astimezone(self.zone))
        while True:
            candidate: dt.datetime = runs.get_prev(dt.datetime)
            if not self._repeated_run(candidate):
                return candidate.astimezone(dt.UTC).replace(fold=0)

    def _repeated_run(self, local: dt.datetime) -> bool:
        """True for the second occurrence of a fixed-hour run in the fall-back hour."""
        if not local.fold:
            return False
        first = local.replace(fold=0)
        if first.utcoffset() == local.utcoffset():
            return False  # not an ambiguous wall time
        return not self._wildcard_hour()

    def _wildcard_hour(self) -> bool:
        if self.expression.startswith("@"):
            return self.expression.lower() == "@hourly"
        return self.expression.split()[1].startswith("*")
