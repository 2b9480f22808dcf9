"""Timer triggers: NCRONTAB schedules (six fields, seconds first) and the TimeSpan form ``hh:mm:ss``.

NCRONTAB ANDs day-of-month with day-of-week, so croniter runs with ``day_or=False``; it must also be
told that the seconds field comes first (plain croniter reads a 6th field as seconds *last*, which
would turn ``0 */5 * * * *`` into "every second").
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest
from croniter import croniter

from devhost import settings as host_settings
from devhost.indexer import FunctionInfo
from devhost.invoker import FunctionInvocationError, Invoker

logger = logging.getLogger("devhost.timers")

# A run this late (or later) after its scheduled time is reported as past due.
PAST_DUE_GRACE = timedelta(seconds=1)


class ScheduleError(ValueError):
    """A timer schedule cannot be parsed; the message names the function and the expression."""


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: an NCRONTAB expression or a fixed interval."""

    expression: str
    interval: timedelta | None = None

    @classmethod
    def parse(cls, expression: str, *, function_name: str = "?") -> Schedule:
        """Parse a 6-field NCRONTAB expression or a TimeSpan ``[d.]hh:mm:ss``.

        Raises:
            ScheduleError: wrong field count or invalid field.
        """
        text = expression.strip()
        if re.fullmatch(r"(\d+\.)?\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?", text):
            seconds = host_settings.parse_timespan(text)
            if seconds <= 0:
                raise ScheduleError(f"function '{function_name}': TimeSpan schedule '{text}' must be positive")
            return cls(text, timedelta(seconds=seconds))
        fields = text.split()
        if len(fields) != 6:
            raise ScheduleError(
                f"function '{function_name}': schedule '{text}' must have 6 NCRONTAB fields "
                "({second} {minute} {hour} {day} {month} {day-of-week})"
            )
        try:
            croniter(text, datetime(2000, 1, 1, tzinfo=UTC), second_at_beginning=True, day_or=False)
        except (ValueError, KeyError) as exc:
            raise ScheduleError(f"function '{function_name}': invalid schedule '{text}': {exc}") from exc
        return cls(text)

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (UTC, aware)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if self.interval is not None:
            return moment + self.interval
        iterator = croniter(self.expression, moment, second_at_beginning=True, day_or=False)
        result: datetime = iterator.get_next(datetime)
        return result

    def occurrences(self, start: datetime, count: int) -> list[datetime]:
        """The next ``count`` occurrences after ``start``."""
        result = []
        moment = start
        for _ in range(count):
            moment = self.next_after(moment)
            result.append(moment)
        return result


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class TimerJob:
    function: FunctionInfo
    schedule: Schedule
    run_on_startup: bool


def timer_jobs(functions: list[FunctionInfo]) -> list[TimerJob]:
    """Parse the schedule of every timer function (``%Setting%`` resolved).

    Raises:
        ScheduleError: a schedule is invalid or refers to a missing setting (naming the function).
    """
    jobs = []
    for function in functions:
        raw = str(function.trigger.schedule)
        try:
            expression = host_settings.resolve_setting_refs(raw, what=f"function '{function.name}' schedule")
        except host_settings.SettingsError as exc:
            raise ScheduleError(str(exc)) from exc
        schedule = Schedule.parse(expression, function_name=function.name)
        jobs.append(TimerJob(function, schedule, bool(getattr(function.trigger, "run_on_startup", False))))
    return jobs


class TimerScheduler:
    """One asyncio task per timer function; a run finishes before the next is scheduled."""

    def __init__(self, invoker: Invoker, jobs: list[TimerJob]) -> None:
        self.invoker = invoker
        self.jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(self._run(job), name=f"timer:{job.function.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _fire(self, job: TimerJob, scheduled: datetime, last: datetime | None, past_due: bool) -> None:
        next_run = job.schedule.next_after(max(scheduled, datetime.now(UTC)))
        request = TimerRequest(
            past_due=past_due,
            schedule_status={
                "Last": _iso(last) if last else _iso(datetime(1, 1, 1, tzinfo=UTC)),
                "Next": _iso(next_run),
                "LastUpdated": _iso(datetime.now(UTC)),
            },
            schedule={"AdjustForDST": True},
        )
        try:
            await self.invoker.invoke(job.function, request, reason=f"Timer fired at {_iso(datetime.now(UTC))}")
        except FunctionInvocationError:
            pass  # logged by the invoker; the schedule goes on, as in the real host

    async def _run(self, job: TimerJob) -> None:
        last: datetime | None = None
        if job.run_on_startup:
            now = datetime.now(UTC)
            await self._fire(job, now, None, past_due=False)
            last = now
        moment = datetime.now(UTC)
        while True:
            scheduled = job.schedule.next_after(moment)
            delay = (scheduled - datetime.now(UTC)).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
            now = datetime.now(UTC)
            await self._fire(job, scheduled, last, past_due=now - scheduled > PAST_DUE_GRACE)
            last = scheduled
            # Occurrences missed while a long run was going are skipped, not replayed in a burst.
            moment = max(scheduled, datetime.now(UTC) - timedelta(microseconds=1))
