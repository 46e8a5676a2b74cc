"""A plugin written straight against componentize-py's bindings of the WIT, without the
SDK, as a careless or hostile partner might: its manifest requests kv alone, and on each
event it tries notify, commerce, a device command and a service call anyway, recording
what the host answered."""

import json

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import commerce, devices, kv, notify, services, types


def attempt(name, call):
    try:
        call()
        return {"name": name, "outcome": "allowed"}
    except Err as error:
        case = type(error.value).__name__.split("_", 1)[-1]
        return {"name": name, "outcome": case, "message": str(getattr(error.value, "value", ""))}


class Handler(exports.Handler):
    def init(self) -> None:
        pass

    def on_event(self, event: types.Event) -> None:
        household = event.household
        note = notify.Notification(title="hello", body="unrequested", category=notify.Category.INFO, action=None)
        proposal = commerce.OrderProposal(order_id=f"o-{event.id}", household=household, currency="EUR",
                                          items=[], note="x")
        tried = [
            attempt("notify", lambda: notify.send(household, note)),
            attempt("commerce", lambda: commerce.propose(proposal)),
            attempt("devices", lambda: devices.send(event.device, devices.Command_SetTemperature(1600))),
            attempt("services", lambda: services.call("air", "advice", household, b"{}")),
        ]
        kv.set("tried", json.dumps(tried).encode())

    def on_events(self, events):
        for event in events:
            self.on_event(event)
        return [Ok(None) for _ in events]

    def handle(self, request: types.ServiceRequest) -> types.ServiceResponse:
        return types.ServiceResponse(output=kv.get("tried") or b"null")
