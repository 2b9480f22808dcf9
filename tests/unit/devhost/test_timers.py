"""NCRONTAB schedules: six fields with seconds first, day-of-month AND day-of-week, %Setting%."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devhost.indexer import load_app
from devhost.timers import Schedule, ScheduleError, timer_jobs

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # a Friday
BASIC_APP = Path(__file__).resolve().parents[2] / "apps" / "basic_app"


def test_every_five_minutes_is_not_every_second() -> None:
    assert Schedule.parse("0 */5 * * * *").occurrences(START, 3) == [
        datetime(2026, 1, 2, 3, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 10, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 15, tzinfo=UTC),
    ]


def test_every_second() -> None:
    assert Schedule.parse("* * * * * *").occurrences(START, 2) == [
        START + timedelta(seconds=1),
        START + timedelta(seconds=2),
    ]


def test_weekdays_at_half_past_nine() -> None:
    got = Schedule.parse("0 30 9 * * 1-5").occurrences(datetime(2026, 1, 2, 10, tzinfo=UTC), 3)
    assert got == [
        datetime(2026, 1, 5, 9, 30, tzinfo=UTC),  # Friday 10:00 -> Monday
        datetime(2026, 1, 6, 9, 30, tzinfo=UTC),
        datetime(2026, 1, 7, 9, 30, tzinfo=UTC),
    ]


def test_day_of_month_and_day_of_week_are_anded() -> None:
    # The 13th that is also a Friday (NCRONTAB ANDs the fields; classic cron would OR them).
    got = Schedule.parse("0 0 0 13 * 5").next_after(START)
    assert got == datetime(2026, 2, 13, 0, 0, tzinfo=UTC)


def test_hourly_on_the_hour() -> None:
    assert Schedule.parse("0 0 * * * *").next_after(START) == datetime(2026, 1, 2, 4, 0, tzinfo=UTC)


def test_timespan_form() -> None:
    assert Schedule.parse("00:00:30").next_after(START) == START + timedelta(seconds=30)


@pytest.mark.parametrize("expression", ["*/5 * * * *", "0 0 25 * * *", "x * * * * *", "00:00:00"])
def test_invalid_schedules_name_the_function(expression: str) -> None:
    with pytest.raises(ScheduleError, match="function 'tick'"):
        Schedule.parse(expression, function_name="tick")


def test_schedule_setting_indirection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASIC_TIMER_SCHEDULE", "*/10 * * * * *")
    app = load_app(BASIC_APP)
    (job,) = timer_jobs(app.by_trigger("timerTrigger"))
    assert job.schedule.expression == "*/10 * * * * *"
    assert job.schedule.next_after(START) == datetime(2026, 1, 2, 3, 4, 10, tzinfo=UTC)
    assert job.run_on_startup is False


def test_missing_schedule_setting_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_app(BASIC_APP, apply_settings=False)
    monkeypatch.delenv("BASIC_TIMER_SCHEDULE", raising=False)
    with pytest.raises(ScheduleError, match="'%BASIC_TIMER_SCHEDULE%', which is not defined"):
        timer_jobs(app.by_trigger("timerTrigger"))
