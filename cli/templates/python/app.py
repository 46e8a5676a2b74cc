"""{{name}}: counts how often each household opens its fridge, and answers
`{{name}}.stats` with the count for the calling household."""

from hearth_sdk import DoorState, Event, EventBody_FridgeDoor, Plugin, PluginError, Request, export, kv


class Counter(Plugin):
    def on_event(self, event: Event) -> None:
        match event.body:
            case EventBody_FridgeDoor(value=DoorState.OPEN):
                # Keyed under the household: erased with it when it leaves.
                key = kv.household_key(event.household, "opens")
                kv.set(key, (kv.get(key) or 0) + 1)
            case _:
                pass

    def handle(self, request: Request) -> object:
        if request.operation != "stats":
            raise PluginError.not_found(f"no operation {request.service}.{request.operation}")
        household = request.require_household()
        return {"fridge_opens": kv.get(kv.household_key(household, "opens")) or 0}


# componentize-py exports the class of this name as the plugin's `handler`.
Handler = export(Counter)
