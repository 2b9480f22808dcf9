"""Activity and orchestrator name constants match the functions function_app.py registers."""

from __future__ import annotations

import functools
from pathlib import Path

from devhost.indexer import load_app
from functions import activity_names as names

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _registered() -> dict[str, str]:
    # Index the project's function_app.py the way the local host (and the worker) does, fresh: another
    # test may have imported a different app under the module name ``function_app``.
    app = load_app(PROJECT_ROOT)
    return {name: info.trigger_type for name, info in app.functions.items()}


def test_every_activity_constant_is_a_registered_activity() -> None:
    registered = _registered()
    missing = [name for name in names.ACTIVITIES if registered.get(name) != "activityTrigger"]
    assert missing == []


def test_orchestrator_name_is_a_registered_orchestrator() -> None:
    assert _registered().get(names.TRAINING_ORCHESTRATOR) == "orchestrationTrigger"


def test_activity_constants_are_listed_once() -> None:
    constants = {
        value
        for key, value in vars(names).items()
        if key.isupper() and isinstance(value, str) and value != names.TRAINING_ORCHESTRATOR
    }
    assert constants == set(names.ACTIVITIES)
    assert len(names.ACTIVITIES) == len(set(names.ACTIVITIES))
