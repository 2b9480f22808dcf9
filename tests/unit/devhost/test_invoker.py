"""Thread pool sizing of the devhost invoker (``PYTHON_THREADPOOL_THREAD_COUNT``)."""

from __future__ import annotations

import pytest

from devhost.invoker import DEFAULT_THREAD_COUNT, THREAD_COUNT_SETTING, thread_count_from_settings


def test_default_is_sized_for_io_bound_handlers() -> None:
    assert thread_count_from_settings({}) == DEFAULT_THREAD_COUNT
    assert thread_count_from_settings({THREAD_COUNT_SETTING: " "}) == DEFAULT_THREAD_COUNT


def test_the_app_setting_wins() -> None:
    assert thread_count_from_settings({THREAD_COUNT_SETTING: "12"}) == 12


@pytest.mark.parametrize("raw", ["0", "-3", "many"])
def test_a_bad_setting_is_named(raw: str) -> None:
    with pytest.raises(ValueError, match=THREAD_COUNT_SETTING):
        thread_count_from_settings({THREAD_COUNT_SETTING: raw})
