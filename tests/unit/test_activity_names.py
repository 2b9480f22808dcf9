"""Activity and orchestrator name constants match the functions function_app.py registers."""

from __future__ import annotations

import functools

from functions import activity_names as names


@functools.cache
def _registered() -> dict[str, str]:
    # get_functions() may run only once per app instance (it re-checks names on every call).
    import function_app

    return {
        f.get_function_name(): f.get_trigger().get_binding_name() for f in function_app.app.get_functions()
    }


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
