"""The errors a plugin raises and the ones host calls raise."""

import re
from typing import Any, Callable, Optional, TypeVar

from componentize_py_types import Err
from wit_world.imports import types

T = TypeVar("T")

_WIT_ERRORS = {
    "invalid-input": types.PluginError_InvalidInput,
    "not-found": types.PluginError_NotFound,
    "unavailable": types.PluginError_Unavailable,
    "internal": types.PluginError_Internal,
}


class PluginError(Exception):
    """An error a plugin returns: to a service's caller, or to the host for an event
    (which is retried and, after its retries, dead-lettered with this message).
    ``kind`` is invalid-input, not-found, unavailable or internal."""

    def __init__(self, kind: str, message: str) -> None:
        if kind not in _WIT_ERRORS:
            raise ValueError(f"{kind!r} is not a plugin error kind: {', '.join(_WIT_ERRORS)}")
        super().__init__(message)
        self.kind = kind
        self.message = message

    @classmethod
    def invalid_input(cls, message: str) -> "PluginError":
        return cls("invalid-input", message)

    @classmethod
    def not_found(cls, message: str) -> "PluginError":
        return cls("not-found", message)

    @classmethod
    def unavailable(cls, message: str) -> "PluginError":
        return cls("unavailable", message)

    @classmethod
    def internal(cls, message: str) -> "PluginError":
        return cls("internal", message)

    @classmethod
    def of(cls, error: BaseException) -> "PluginError":
        """What any exception tells the host: itself, a HostError's plugin error, or internal."""
        if isinstance(error, PluginError):
            return error
        if isinstance(error, HostError):
            return error.to_plugin_error()
        return cls.internal(f"{type(error).__name__}: {error}")

    def to_wit(self) -> types.PluginError:
        return _WIT_ERRORS[self.kind](self.message)


class HostError(Exception):
    """A capability call the host refused: ``capability`` is kv, notify, commerce,
    devices or services, ``kind`` the WIT error case (not-granted, rate-limited,
    no-consent, …). Uncaught, it fails the event or call: unavailable when retrying may
    help, internal otherwise."""

    def __init__(self, capability: str, kind: str, message: str, plugin_error: Optional[PluginError] = None):
        super().__init__(f"{capability}: {kind}: {message}")
        self.capability = capability
        self.kind = kind
        self.message = message
        #: For services' failed: the provider's own error.
        self.plugin_error = plugin_error

    def to_plugin_error(self) -> PluginError:
        if self.plugin_error is not None:
            return self.plugin_error
        retryable = self.kind in ("unavailable", "quota-exceeded", "rate-limited")
        return PluginError("unavailable" if retryable else "internal", str(self))


def _kind(value: Any) -> str:
    """`KvError_NotGranted` -> `not-granted`."""
    case = type(value).__name__.split("_", 1)[-1]
    return re.sub(r"(?<!^)(?=[A-Z])", "-", case).lower()


def call_host(capability: str, call: Callable[..., T], *args: Any) -> T:
    """Calls a WIT import; its error becomes a HostError."""
    try:
        return call(*args)
    except Err as error:
        value = error.value
        kind = _kind(value)
        inner = getattr(value, "value", "")
        if kind == "failed":
            plugin_error = PluginError(_kind(inner), inner.value)
            raise HostError(capability, kind, inner.value, plugin_error) from None
        raise HostError(capability, kind, str(inner)) from None
