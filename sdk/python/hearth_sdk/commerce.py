"""Orders proposed to households; a confirmed one arrives as an order-confirmed event."""

from dataclasses import dataclass
from typing import List

from wit_world.imports import commerce as _wit

from hearth_sdk.errors import call_host


@dataclass
class LineItem:
    sku: str
    name: str
    quantity: int
    #: Price of one unit in minor units of the order's currency (cents).
    unit_price_minor: int


def propose(order_id: str, household: str, currency: str, items: List[LineItem], note: str) -> None:
    """Proposes an order. ``order_id`` is unique among all of this plugin's orders (not
    per household); proposing the same id with the same content again is a no-op."""
    lines = [_wit.LineItem(i.sku, i.name, i.quantity, i.unit_price_minor) for i in items]
    proposal = _wit.OrderProposal(order_id=order_id, household=household, currency=currency, items=lines, note=note)
    call_host("commerce", _wit.propose, proposal)
