"""Calls of other plugins' services (each listed in the manifest's [services] calls)."""

import json
from typing import Any, Optional

from wit_world.imports import services as _wit

from hearth_sdk.errors import PluginError, call_host


def call(service: str, operation: str, input: Any, household: Optional[str] = None) -> Any:  # noqa: A002
    """Calls ``service.operation`` with a JSON input; returns the JSON answer."""
    answer = call_host("services", _wit.call, service, operation, household, json.dumps(input).encode())
    try:
        return json.loads(answer)
    except ValueError as error:
        raise PluginError.internal(f"the answer of {service}.{operation} is not JSON: {error}") from None
