"""Notifications to a household's app (rate-limited; the household must have granted
the plugin)."""

import json
from typing import Optional

from wit_world.imports import notify as _wit
from wit_world.imports.notify import Category

from hearth_sdk.errors import call_host

__all__ = ["Category", "send"]


def send(
    household: str,
    title: str,
    body: str,
    category: Category = Category.INFO,
    action: Optional[tuple] = None,
) -> str:
    """Sends a notification; returns its id. ``action`` is (label, "service.operation",
    input): a button calling one of the plugin's own operations with that JSON input."""
    button: Optional[_wit.Action] = None
    if action is not None:
        label, operation, value = action
        button = _wit.Action(label=label, operation=operation, input=json.dumps(value))
    notification = _wit.Notification(title=title, body=body, category=category, action=button)
    return call_host("notify", _wit.send, household, notification)
