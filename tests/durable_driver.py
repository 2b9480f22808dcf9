"""One replay driver for every orchestrator test, on the real azure-functions-durable SDK.

The driver plays the Durable extension's part: it calls the orchestrator's user function with
``func.OrchestrationContext(<context JSON>)``, schedules the actions it returns, feeds the activity
results back as history events (one episode per round, all completions batched) and repeats until the
orchestration is done. Activity results come from a plain function standing in for the activities, so
tests check the orchestration logic only; the activities are tested against Azurite.

An activity that raises reaches the orchestrator the way the Durable runtime delivers it: as
``TaskFailed`` whose reason is ``"Activity function '<name>' failed: <message>"`` plus details; the
exception object itself does not survive (see :mod:`shared.jobs.failures`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from devhost.durable import history as h

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

Activity = Callable[[str, Any], Any]


class Run:
    """Outcome of a driven orchestration."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.statuses: list[Any] = []
        self.timers = 0
        self.result: h.OrchestratorResult | None = None

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def payloads(self, name: str) -> list[Any]:
        return [payload for called, payload in self.calls if called == name]


@functools.cache
def user_function(blueprint: df.Blueprint, name: str) -> Callable[[func.OrchestrationContext], str]:
    """The registered user function of orchestrator ``name`` in ``blueprint``."""
    # get_functions() may run only once per app (it re-checks names), hence our own app and the cache.
    app = df.DFApp()
    app.register_functions(blueprint)
    for function in app.get_functions():
        if function.get_function_name() == name:
            return function.get_user_function()  # type: ignore[no-any-return]
    raise AssertionError(f"orchestrator {name} is not registered")


def drive(
    blueprint: df.Blueprint,
    name: str,
    orchestration_input: Any,
    activity: Activity,
    *,
    instance_id: str = "job-1",
    max_episodes: int = 100,
) -> Run:
    """Run orchestrator ``name`` to completion, answering each activity with ``activity(name, payload)``."""
    handler = user_function(blueprint, name)
    input_text = json.dumps(orchestration_input)
    events = [
        h.orchestrator_started(START),
        h.execution_started(name, input_text, instance_id, "exec-1", timestamp=START),
    ]
    run = Run()
    scheduled = 0
    for episode in range(1, max_episodes + 1):
        context = h.context_json(events, instance_id=instance_id, input_text=input_text)
        try:
            state = h.parse_orchestrator_state(handler(func.OrchestrationContext(context)))
        except Exception as exc:  # the SDK raises when the orchestrator itself fails
            state = h.parse_orchestrator_exception(exc)
        run.statuses.append(state.custom_status)
        if state.is_done or state.failed:
            run.result = state
            return run
        now = START + timedelta(seconds=episode)
        completions = []
        for action in h.flatten_actions(state.actions)[scheduled:]:
            seq = scheduled
            scheduled += 1
            if action["actionType"] in (h.ActionType.CALL_ACTIVITY, h.ActionType.CALL_ACTIVITY_WITH_RETRY):
                called = action["functionName"]
                payload = json.loads(action["input"])
                events.append(h.task_scheduled(seq, called, action["input"], now))
                run.calls.append((called, payload))
                try:
                    completions.append(h.task_completed(seq, json.dumps(activity(called, payload)), now))
                except Exception as exc:
                    reason = f"Activity function '{called}' failed: {exc}"
                    completions.append(
                        h.task_failed(seq, reason, "Traceback (most recent call last): ...", now)
                    )
            elif action["actionType"] == h.ActionType.CREATE_TIMER:
                run.timers += 1
                fire_at = h.parse_timestamp(action["fireAt"])
                events.append(h.timer_created(seq, fire_at, now))
                completions.append(h.timer_fired(seq, action["fireAt"], now))
            else:
                raise AssertionError(f"unexpected action {action}")
        events.append(h.orchestrator_completed(now))
        events.append(h.orchestrator_started(now))
        events.extend(completions)
    raise AssertionError("orchestration did not finish")
