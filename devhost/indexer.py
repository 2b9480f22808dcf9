"""Index a v2-programming-model app the way the Python worker does.

The worker imports ``function_app.py``, takes the single module-level ``FunctionRegister`` (a
``FunctionApp`` or ``df.DFApp``), calls ``get_functions()`` once and then checks every function's
parameters against its bindings. We repeat those checks so that "works locally, fails in Azure"
cannot happen; messages follow the worker's ``cannot load the <name> function: ...`` form.
"""

from __future__ import annotations

import collections.abc
import importlib.util
import inspect
import logging
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.decorators.core import BindingDirection

from devhost import settings as host_settings

logger = logging.getLogger("devhost.indexer")

SCRIPT_FILE_NAME = "function_app.py"
RETURN_BINDING = "$return"


class AppLoadError(RuntimeError):
    """The app as a whole cannot be indexed (import failure, no or several app instances...)."""


class FunctionLoadError(AppLoadError):
    """One function fails the worker's checks; the message names it."""

    def __init__(self, function_name: str, message: str) -> None:
        super().__init__(f"cannot load the {function_name} function: {message}")
        self.function_name = function_name


@dataclass
class FunctionInfo:
    """One indexed function: its trigger, its bindings and the callable to invoke."""

    name: str
    trigger_type: str
    trigger: Any
    bindings: list[Any]
    user_function: Callable[..., Any]
    is_async: bool
    requires_context: bool = False
    return_binding: Any | None = None
    annotations: dict[str, Any] = field(default_factory=dict)

    def binding(self, name: str) -> Any:
        """The binding whose parameter name is ``name`` (LookupError if none)."""
        for candidate in self.bindings:
            if candidate.name == name:
                return candidate
        raise LookupError(f"function '{self.name}' has no binding named '{name}'")

    def input_bindings(self) -> list[Any]:
        """Non-trigger bindings with direction in."""
        return [
            b for b in self.bindings
            if b is not self.trigger and b.name != RETURN_BINDING and not _is_out(b)
        ]

    def output_bindings(self) -> list[Any]:
        """Bindings with direction out that are bound to a parameter (``$return`` excluded)."""
        return [b for b in self.bindings if _is_out(b) and b.name != RETURN_BINDING]


@dataclass
class IndexedApp:
    """The result of indexing: functions by name plus the host-level settings they need."""

    app_dir: Path
    functions: dict[str, FunctionInfo]
    route_prefix: str
    hub_name: str
    settings: dict[str, str]
    host_json: dict[str, Any] = field(default_factory=dict)
    settings_file: Path | None = None

    def _by_name(self, name: str, trigger_type: str, attribute: str) -> FunctionInfo:
        matches = [
            f for f in self.functions.values()
            if f.trigger_type == trigger_type and (getattr(f.trigger, attribute, None) or f.name) == name
        ]
        if not matches:
            known = sorted((getattr(f.trigger, attribute, None) or f.name) for f in self.by_trigger(trigger_type))
            raise LookupError(f"no {trigger_type} function named '{name}' (known: {', '.join(known) or 'none'})")
        return matches[0]

    def orchestrator(self, name: str) -> FunctionInfo:
        """The orchestrator registered under ``name`` (its ``orchestration`` override or function name)."""
        return self._by_name(name, "orchestrationTrigger", "orchestration")

    def activity(self, name: str) -> FunctionInfo:
        """The activity registered under ``name`` (its ``activity`` override or function name)."""
        return self._by_name(name, "activityTrigger", "activity")

    def entity(self, name: str) -> FunctionInfo:
        """The entity registered under ``name``."""
        return self._by_name(name, "entityTrigger", "entity_name")

    def by_trigger(self, trigger_type: str) -> list[FunctionInfo]:
        """All functions with the given trigger binding type, in registration order."""
        return [f for f in self.functions.values() if f.trigger_type == trigger_type]


def _direction(binding: Any) -> int:
    value = getattr(binding, "direction", BindingDirection.IN)
    return int(value.value if isinstance(value, BindingDirection) else value)


def _is_out(binding: Any) -> bool:
    return _direction(binding) == BindingDirection.OUT.value


def _is_out_annotation(annotation: Any) -> bool:
    origin = typing.get_origin(annotation) or annotation
    return isinstance(origin, type) and origin.__name__ == "Out"


_NOT_GENERIC_ORIGINS = (typing.Union, tuple, typing.ClassVar, collections.abc.Callable)


def _is_type_like(annotation: Any) -> bool:
    """The worker's test of a parameter annotation (its copy of ``typing_inspect.is_generic_type``).

    A class, or one of ``typing``'s own generic aliases except unions, tuples, ``ClassVar`` and
    ``Callable``. A builtin generic such as ``dict[str, Any]`` (a ``types.GenericAlias``, no longer a
    class since Python 3.11) is neither, so the worker refuses it: annotate ``dict`` or ``typing.Dict``.
    """
    if isinstance(annotation, type):
        return True
    if isinstance(annotation, types.GenericAlias | types.UnionType):  # dict[str, Any], str | None
        return False
    origin = typing.get_origin(annotation)  # typing.Dict[str, Any] -> dict, func.Out[str] -> Out, ...
    return origin is not None and origin not in _NOT_GENERIC_ORIGINS


def _type_hints(fn: Callable[..., Any], name: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception as exc:  # noqa: BLE001 - an unresolvable annotation is the user's load error
        raise FunctionLoadError(name, f"cannot resolve type annotations: {exc}") from exc


def check_function(fn: func.decorators.function_app.Function) -> FunctionInfo:
    """Apply the worker's binding/parameter checks to one function and describe it.

    Raises:
        FunctionLoadError: naming the function and the problem, worded like the worker.
    """
    name = fn.get_function_name() or fn.get_user_function().__name__
    trigger = fn.get_trigger()
    if trigger is None:
        raise FunctionLoadError(name, "the function has no trigger")
    user_function = fn.get_user_function()
    params = dict(inspect.signature(user_function).parameters)
    annotations = _type_hints(user_function, name)

    bound: dict[str, Any] = {}
    return_binding = None
    for binding in fn.get_bindings():
        if _direction(binding) == BindingDirection.INOUT.value:
            raise FunctionLoadError(name, '"inout" bindings are not supported')
        if binding.name == RETURN_BINDING:
            if not _is_out(binding):
                raise FunctionLoadError(name, '"$return" binding must have direction set to "out"')
            if return_binding is not None:
                raise FunctionLoadError(name, "function cannot have more than one $return binding")
            return_binding = binding
            continue
        if binding.name in bound:
            raise FunctionLoadError(name, f"binding name '{binding.name}' is used more than once")
        bound[binding.name] = binding

    requires_context = False
    if "context" in params and "context" not in bound:
        requires_context = True
        params.pop("context")
        context_annotation = annotations.get("context")
        if context_annotation is not None and (
            not isinstance(context_annotation, type) or context_annotation.__name__ != "Context"
        ):
            raise FunctionLoadError(
                name,
                'the "context" parameter is expected to be of type azure.functions.Context, '
                f"got {context_annotation!r}",
            )

    extra = set(params) - set(bound)
    if extra:
        raise FunctionLoadError(
            name,
            "the following parameters are declared in Python but not in the function definition "
            f"(function.json or function decorators): {extra!r}",
        )
    missing = set(bound) - set(params)
    if missing:
        raise FunctionLoadError(
            name,
            "the following parameters are declared in the function definition "
            f"(function.json or function decorators) but not in Python: {missing!r}",
        )

    for param_name in params:
        binding = bound[param_name]
        has_annotation = param_name in annotations
        param_is_out = has_annotation and _is_out_annotation(annotations[param_name])
        if has_annotation:
            annotation = annotations[param_name]
            python_type = typing.get_args(annotation)[0] if param_is_out and typing.get_args(annotation) else annotation
            if not _is_type_like(python_type):
                raise FunctionLoadError(
                    name, f"binding {param_name} has invalid non-type annotation {annotation!r}"
                )
        if _is_out(binding) and has_annotation and not param_is_out:
            raise FunctionLoadError(
                name,
                f'binding {param_name} is declared to have the "out" direction, but its annotation '
                "in Python is not a subclass of azure.functions.Out",
            )
        if not _is_out(binding) and param_is_out:
            raise FunctionLoadError(
                name,
                f'binding {param_name} is declared to have the "in" direction in the function definition, '
                "but its annotation is azure.functions.Out in Python",
            )

    if return_binding is not None and "return" in annotations:
        returned = annotations["return"]
        if _is_out_annotation(returned):
            raise FunctionLoadError(name, "return annotation should not be azure.functions.Out")
        # Stricter than for parameters: the worker takes only a class here (not even typing.Dict[...]).
        if not isinstance(returned, type):
            raise FunctionLoadError(name, f"has invalid non-type return annotation {returned!r}")

    return FunctionInfo(
        name=name,
        trigger_type=trigger.get_binding_name(),
        trigger=trigger,
        bindings=list(fn.get_bindings()),
        user_function=user_function,
        is_async=inspect.iscoroutinefunction(user_function),
        requires_context=requires_context,
        return_binding=return_binding,
        annotations=annotations,
    )


def import_app_module(app_dir: Path, script_name: str = SCRIPT_FILE_NAME) -> Any:
    """Import the app's script as module ``function_app`` with the app folder first on sys.path."""
    script = app_dir / script_name
    if not script.exists():
        raise AppLoadError(f"{script} does not exist: --app-dir must be the folder that holds {script_name}")
    app_path = str(app_dir)
    if app_path in sys.path:
        sys.path.remove(app_path)
    sys.path.insert(0, app_path)
    module_name = Path(script_name).stem
    # A previous load (another app in the same test process) must not be reused.
    sys.modules.pop(module_name, None)
    spec = importlib.util.spec_from_file_location(module_name, script)
    if spec is None or spec.loader is None:
        raise AppLoadError(f"cannot import {script}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise AppLoadError(f"importing {script_name} failed: {type(exc).__name__}: {exc}") from exc
    return module


def find_function_register(module: Any, script_name: str = SCRIPT_FILE_NAME) -> func.FunctionRegister:
    """The single module-level FunctionRegister instance (the worker refuses zero or several)."""
    found: func.FunctionRegister | None = None
    for attribute in dir(module):
        value = getattr(module, attribute, None)
        if isinstance(value, func.FunctionRegister):
            if found is not None and value is not found:
                raise AppLoadError(
                    f"More than one {type(found).__name__} or other top level function app instances "
                    f"are defined in {script_name}."
                )
            found = value
    if found is None:
        raise AppLoadError(f"Could not find top level function app instances in {script_name}.")
    return found


def load_app(app_dir: Path, *, apply_settings: bool = True) -> IndexedApp:
    """Import and index the app in ``app_dir``.

    Args:
        app_dir: folder holding function_app.py, host.json and local.settings(.sample).json.
        apply_settings: copy local settings into os.environ (without overriding set variables)
            before importing, as Core Tools does.

    Raises:
        AppLoadError: the app cannot be imported or indexed.
        FunctionLoadError: a function fails the worker's checks (the message names it).
    """
    app_dir = Path(app_dir).resolve()
    values, settings_file = host_settings.read_local_settings(app_dir)
    if apply_settings:
        host_settings.apply_settings(values)
    host_json = host_settings.read_host_json(app_dir)
    module = import_app_module(app_dir)
    register = find_function_register(module)
    try:
        # get_functions() also rejects duplicate names; it must run only once per app instance.
        functions = register.get_functions()
    except ValueError as exc:
        raise AppLoadError(str(exc)) from exc
    indexed: dict[str, FunctionInfo] = {}
    for function in functions:
        info = check_function(function)
        if info.name in indexed:
            raise FunctionLoadError(info.name, "function name is not unique")
        indexed[info.name] = info
    return IndexedApp(
        app_dir=app_dir,
        functions=indexed,
        route_prefix=host_settings.route_prefix(host_json),
        hub_name=host_settings.hub_name(host_json),
        settings=values,
        host_json=host_json,
        settings_file=settings_file,
    )
