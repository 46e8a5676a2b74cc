"""Commands to a household's appliances (granted kinds only, with the household's
control consent)."""

from wit_world.imports import devices as _wit
from wit_world.imports.devices import DeviceInfo

from hearth_sdk.errors import call_host

__all__ = ["DeviceInfo", "describe", "send", "set_temperature", "preheat", "start_program", "stop"]


def describe(device: str) -> DeviceInfo:
    """Kind, model and region of a device the plugin received events from."""
    return call_host("devices", _wit.describe, device)


def send(device: str, command: _wit.Command) -> str:
    """Queues a command; returns its id."""
    return call_host("devices", _wit.send, device, command)


def set_temperature(device: str, centi_celsius: int) -> str:
    """Cooling/heating setpoint in 0.01 °C."""
    return send(device, _wit.Command_SetTemperature(centi_celsius))


def preheat(device: str, centi_celsius: int) -> str:
    return send(device, _wit.Command_Preheat(centi_celsius))


def start_program(device: str, program: str) -> str:
    return send(device, _wit.Command_StartProgram(program))


def stop(device: str) -> str:
    return send(device, _wit.Command_Stop())
