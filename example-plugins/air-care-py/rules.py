"""The plugin's rules, free of host calls so that they are tested in plain CPython."""

from typing import Optional, Tuple

#: 26 °C in 0.01 °C: the comfortable, efficient cooling setpoint.
EFFICIENT_SETPOINT = 2600
#: Cooling energy saved per degree the setpoint is raised, percent.
SAVING_PER_DEGREE_PERCENT = 7
FILTER_LOW_PERCENT = 10


def advise(setpoint: Optional[int]) -> Optional[Tuple[int, int]]:
    """(setpoint, saving in percent) when cooling below 26 °C should be raised."""
    if setpoint is None or setpoint >= EFFICIENT_SETPOINT:
        return None
    return setpoint, (EFFICIENT_SETPOINT - setpoint) * SAVING_PER_DEGREE_PERCENT // 100


def filter_worn(condition_percent: Optional[int]) -> bool:
    return condition_percent is not None and condition_percent <= FILTER_LOW_PERCENT


def degrees(centi: int) -> str:
    sign = "-" if centi < 0 else ""
    return f"{sign}{abs(centi) // 100}.{abs(centi) % 100 // 10} °C"
