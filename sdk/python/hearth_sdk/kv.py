"""The plugin's durable key-value store. Values are JSON (``get_bytes``/``set_bytes``
for raw bytes); each write is durable when it returns."""

import json
from typing import Any, List, Optional

from wit_world.imports import kv as _wit

from hearth_sdk.errors import PluginError, call_host


def _encode(key: str, value: Any) -> bytes:
    try:
        return json.dumps(value).encode()
    except (TypeError, ValueError) as error:
        raise PluginError.internal(f"kv value for {key!r} is not JSON: {error}") from None


def get(key: str) -> Any:
    """The value under ``key`` decoded from JSON, or None when the key is absent."""
    raw = call_host("kv", _wit.get, key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as error:
        raise PluginError.internal(f"kv value under {key!r} is not JSON: {error}") from None


def set(key: str, value: Any) -> None:  # noqa: A001 - the store's own word
    """Stores ``value`` as JSON under ``key``."""
    call_host("kv", _wit.set, key, _encode(key, value))


def get_bytes(key: str) -> Optional[bytes]:
    return call_host("kv", _wit.get, key)


def set_bytes(key: str, value: bytes) -> None:
    call_host("kv", _wit.set, key, value)


def delete(key: str) -> None:
    """Removes ``key``; removing a missing key succeeds."""
    call_host("kv", _wit.delete, key)


def list_keys(prefix: str) -> List[str]:
    """The keys starting with ``prefix``, in byte order."""
    return call_host("kv", _wit.list_keys, prefix)


def compare_and_swap(key: str, expected: Any, value: Any) -> bool:
    """Stores ``value`` only if the current value is ``expected`` (None: absent)."""
    old = None if expected is None else _encode(key, expected)
    return call_host("kv", _wit.compare_and_swap, key, old, _encode(key, value))


def household_key(household: str, key: str) -> str:
    """The key for ``key`` of one household: erased with the household when it leaves."""
    return f"{household}/{key}"
