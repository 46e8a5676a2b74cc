"""Appliance events as devices send them; ingest validates them as in production."""

from typing import Any, Dict, Optional


def event(topic: str, body: Dict[str, Any], id: Optional[str] = None) -> Dict[str, Any]:  # noqa: A002
    sent: Dict[str, Any] = {"topic": topic, "body": body}
    if id is not None:
        sent["id"] = id
    return sent


def fridge_door(state: str) -> Dict[str, Any]:
    return event("appliance.fridge.door", {"state": state})


def fridge_inventory(item: str, action: str, amount: int, unit: str) -> Dict[str, Any]:
    return event("appliance.fridge.inventory", {"item": item, "action": action, "quantity": {"amount": amount, "unit": unit}})


def purifier_telemetry(tds_in: int, tds_out: int, filter: str, condition: int, indication: str) -> Dict[str, Any]:  # noqa: A002
    filters = [{"name": filter, "condition_percent": condition, "change_indication": indication}]
    return event(
        "appliance.water-purifier.telemetry",
        {"tds_in_ppm": tds_in, "tds_out_ppm": tds_out, "litres_total": 1000, "filters": filters},
    )


def air_telemetry(temperature_celsius: float, humidity_percent: float, air_quality: str, **extra: Any) -> Dict[str, Any]:
    body = {
        "temperature_centi_celsius": round(temperature_celsius * 100),
        "humidity_centi_percent": round(humidity_percent * 100),
        "air_quality": air_quality,
        **extra,
    }
    return event("appliance.air.telemetry", body)
