"""When a monitor runs: every six hours, daily, weekly, monthly, or a 5-field cron expression.

The four intervals count from the moment the monitor was made (a monitor made at 09:17 runs
daily at 09:17), so monitors made at different times do not all start at midnight. A cron
expression (``minute hour day-of-month month day-of-week``, in UTC) is read by ``cronsim``;
two of its runs must be at least ``MIN_GAP`` apart. Times are naive UTC, as the store keeps them.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice, pairwise

from cronsim import CronSim, CronSimError

__all__ = ["INTERVALS", "MIN_GAP", "Schedule", "ScheduleError"]

INTERVALS: dict[str, timedelta | None] = {
    "every-6-hours": timedelta(hours=6),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": None,  # calendar months
}
MIN_GAP = timedelta(minutes=15)
_CHECKED = 200  # runs of a cron expression whose gaps are checked


class ScheduleError(ValueError):
    """A schedule that is not one of the intervals nor a usable cron expression."""


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule; ``next_after`` gives the first run strictly after a moment."""

    text: str
    anchor: datetime  # when the monitor was made: the intervals count from it

    @classmethod
    def parse(cls, text: str, anchor: datetime) -> Schedule:
        """Check ``text``; a ``ScheduleError`` says what is wrong with it."""
        value = " ".join(text.split())
        if value in INTERVALS:
            return cls(value, anchor.replace(microsecond=0))
        fields = value.split(" ")
        if len(fields) != 5:
            raise ScheduleError(
                f"the schedule {text[:100]!r} is not one of {', '.join(INTERVALS)} nor a cron "
                "expression of 5 fields (minute hour day-of-month month day-of-week, UTC)"
            )
        try:
            runs = list(islice(CronSim(value, anchor), _CHECKED))
        except (CronSimError, ValueError) as exc:
            raise ScheduleError(f"the cron expression {value!r} is not valid ({exc})") from None
        gaps = [b - a for a, b in pairwise(runs)]
        if gaps and min(gaps) < MIN_GAP:
            raise ScheduleError(
                f"the cron expression {value!r} runs more often than every "
                f"{int(MIN_GAP.total_seconds() // 60)} minutes; scans need time between runs"
            )
        return cls(value, anchor.replace(microsecond=0))

    def next_after(self, moment: datetime) -> datetime:
        """The first run strictly after ``moment``."""
        if self.text not in INTERVALS:
            return next(CronSim(self.text, moment))
        step = INTERVALS[self.text]
        if step is None:
            return _next_month(self.anchor, moment)
        if moment < self.anchor:
            return self.anchor
        passed = (moment - self.anchor) // step + 1
        return self.anchor + passed * step


def _next_month(anchor: datetime, moment: datetime) -> datetime:
    """The first of anchor + n months after ``moment`` (the 31st becomes a month's last day)."""
    months = max(0, (moment.year - anchor.year) * 12 + moment.month - anchor.month - 1)
    while True:
        candidate = _add_months(anchor, months)
        if candidate > moment:
            return candidate
        months += 1


def _add_months(anchor: datetime, months: int) -> datetime:
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)
