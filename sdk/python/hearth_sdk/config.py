"""Values the operator set for this plugin."""

from typing import Optional

from wit_world.imports import config as _wit


def get(key: str) -> Optional[str]:
    return _wit.get(key)
