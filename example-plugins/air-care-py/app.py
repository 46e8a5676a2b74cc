"""Air care, in Python: when an air conditioner cools below 26 °C it advises raising
the setpoint (each degree saves roughly 7 % of cooling energy) and, where the household
gave it control, sets 26 °C itself. A worn air filter (≤ 10 %) gets a reminder. At most
one message of each kind per device a day."""

import time

from hearth_sdk import EventBody_AirTelemetry, Event, HostError, Plugin, PluginError, Request, export
from hearth_sdk import devices, kv, notify
from hearth_sdk.notify import Category

import rules


def today() -> int:
    return int(time.time()) // 86_400


class AirCare(Plugin):
    def on_event(self, event: Event) -> None:
        match event.body:
            case EventBody_AirTelemetry(value=telemetry) if event.device is not None:
                self.on_telemetry(event, event.device, telemetry)
            case _:
                pass

    def on_telemetry(self, event: Event, device: str, telemetry) -> None:
        key = kv.household_key(event.household, f"air/{device}")
        log = kv.get(key) or {"sent": {}, "last_setpoint": None, "actions": []}
        log["last_setpoint"] = telemetry.cooling_setpoint_centi_celsius
        day = today()

        def first_today(kind: str) -> bool:
            first = log["sent"].get(kind) != day
            log["sent"][kind] = day
            return first

        advice = rules.advise(telemetry.cooling_setpoint_centi_celsius)
        if advice is not None and first_today("setpoint"):
            setpoint, saving = advice
            try:
                devices.set_temperature(device, rules.EFFICIENT_SETPOINT)
                title = "Cooling set to 26 °C"
                body = (f"Your air conditioner was cooling to {rules.degrees(setpoint)}; we set it to 26 °C, "
                        f"which saves about {saving} % energy and stays comfortable.")
                action = "set 26 °C"
            except HostError as error:
                if error.kind not in ("no-consent", "not-granted"):
                    raise
                title = "Save energy at 26 °C"
                body = (f"Cooling to {rules.degrees(setpoint)} uses about {saving} % more energy than 26 °C, "
                        "which most people find just as comfortable.")
                action = "advised 26 °C"
            notify.send(event.household, title, body, Category.ADVICE)
            log["actions"].append(f"{action} (was {rules.degrees(setpoint)})")

        if rules.filter_worn(telemetry.filter_condition_percent) and first_today("filter"):
            body = (f"The air filter is at {telemetry.filter_condition_percent} %. "
                    "A clean filter keeps the air fresh and the unit efficient.")
            notify.send(event.household, "Air filter worn", body, Category.ALERT)
            log["actions"].append("filter reminder")
        kv.set(key, log)

    def handle(self, request: Request) -> object:
        if request.operation != "advice":
            raise PluginError.not_found(f"no operation {request.service}.{request.operation}")
        household = request.require_household()
        answer = {}
        for key in kv.list_keys(kv.household_key(household, "air/")):
            log = kv.get(key) or {}
            setpoint = log.get("last_setpoint")
            answer[key.rsplit("/", 1)[-1]] = {
                "cooling_setpoint": None if setpoint is None else rules.degrees(setpoint),
                "actions": log.get("actions", []),
            }
        return answer


Handler = export(AirCare)
