"""Hearth SDK for Python: write a Hearth plugin as a class, build it with
``hearth plugin build`` (componentize-py) into a ``partner-plugin`` component.

.. code-block:: python

    from hearth_sdk import Event, EventBody_FridgeDoor, DoorState, Plugin, Request, export, kv

    class DoorCounter(Plugin):
        def on_event(self, event: Event) -> None:
            match event.body:
                case EventBody_FridgeDoor(value=DoorState.OPEN):
                    key = kv.household_key(event.household, "opens")
                    kv.set(key, (kv.get(key) or 0) + 1)

        def handle(self, request: Request) -> object:
            return {"opens": kv.get(kv.household_key(request.require_household(), "opens")) or 0}

    # componentize-py looks for the class implementing the `handler` export by this name.
    Handler = export(DoorCounter)

The host may discard an instance at any time (after a trap, a timeout, an upgrade):
keep what must survive in ``kv``, not in attributes.
"""

import json
from typing import Any, Callable, List, Optional, TypeVar, Union

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import types
from wit_world.imports.types import *  # noqa: F401,F403 - the event catalogue, re-exported

from hearth_sdk.errors import HostError, PluginError

__all__ = ["Plugin", "PluginError", "HostError", "Request", "export", "one_by_one"]

T = TypeVar("T")


class Request:
    """A call of one of the plugin's service operations."""

    def __init__(self, request: types.ServiceRequest) -> None:
        self.service: str = request.service
        self.operation: str = request.operation
        self.caller: types.Caller = request.caller
        #: The household the call is made for, when there is one.
        self.household: Optional[str] = request.household
        self._input = request.input

    def json(self) -> Any:
        """The input decoded from JSON; malformed JSON fails the call with invalid-input."""
        if not self._input:
            return {}
        try:
            return json.loads(self._input)
        except ValueError as error:
            raise PluginError.invalid_input(f"the input is not JSON: {error}") from None

    def require_household(self) -> str:
        """The household, or an invalid-input error for a call made for none."""
        if self.household is None:
            raise PluginError.invalid_input(f"{self.service}.{self.operation} needs a household")
        return self.household


class Plugin:
    """A Hearth plugin: override what it needs. One instance serves one call at a time."""

    def init(self) -> None:
        """Prepares a fresh instance before any other call."""

    def on_event(self, event: types.Event) -> None:
        """One event; returning acknowledges it, raising makes the host retry it later."""

    def on_events(self, events: List[types.Event]) -> List[Optional[PluginError]]:
        """Several events in delivery order: one result per event handled (None or an
        error); fewer results than events leave the rest to be delivered again. By
        default each goes to on_event, stopping after the first error."""
        return one_by_one(self, events)

    def handle(self, request: Request) -> Any:
        """A call of a provided service: return any JSON value as the answer."""
        raise PluginError.not_found(f"this plugin provides no operation {request.service}.{request.operation}")


def one_by_one(plugin: Plugin, events: List[types.Event]) -> List[Optional[PluginError]]:
    """Hands events to on_event one at a time, stopping after the first error."""
    results: List[Optional[PluginError]] = []
    for event in events:
        try:
            plugin.on_event(event)
            results.append(None)
        except Exception as error:  # noqa: BLE001 - every failure becomes the event's result
            results.append(PluginError.of(error))
            break
    return results


def _guard(call: Callable[[], T]) -> T:
    """Runs a plugin method; anything it raises becomes the WIT error."""
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - every failure goes back to the host as a plugin error
        raise Err(PluginError.of(error).to_wit()) from None


def export(plugin: Union[type, Plugin]) -> type:
    """The class componentize-py exports as ``handler``: ``Handler = export(MyPlugin)``.
    ``plugin`` is a Plugin subclass (constructed once per instance) or an object."""
    state: List[Plugin] = []

    def current() -> Plugin:
        if not state:
            state.append(plugin() if isinstance(plugin, type) else plugin)
        return state[0]

    def answer(request: types.ServiceRequest) -> types.ServiceResponse:
        call = Request(request)
        output = current().handle(call)
        try:
            return types.ServiceResponse(output=json.dumps(output).encode())
        except (TypeError, ValueError) as error:
            raise PluginError.internal(f"the answer of {call.service}.{call.operation} is not JSON: {error}") from None

    class Handler(exports.Handler):
        def init(self) -> None:
            _guard(lambda: current().init())

        def on_event(self, event: types.Event) -> None:
            _guard(lambda: current().on_event(event))

        def on_events(self, events: List[types.Event]) -> List[Union[Ok[None], Err[types.PluginError]]]:
            results = current().on_events(events)
            return [Ok(None) if result is None else Err(PluginError.of(result).to_wit()) for result in results]

        def handle(self, request: types.ServiceRequest) -> types.ServiceResponse:
            return _guard(lambda: answer(request))

    return Handler
