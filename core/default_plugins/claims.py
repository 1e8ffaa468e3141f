"""Claims as a default plugin: the event types of a claim's life and their payloads."""
from __future__ import annotations

from typing import TypedDict

from bayline.plugins.markers import hookimpl
from bayline.plugins.types import EventType


class ClaimCreated(TypedDict):
    claim_id: int
    stage_id: int
    user_id: int | None
    """The staff user who acted (None for API keys, imports and the system); the same in every claim event."""


class ClaimUpdated(TypedDict):
    claim_id: int
    fields: list[str]
    """Names of the claim fields whose value changed."""
    user_id: int | None


class ClaimStageChanged(TypedDict):
    claim_id: int
    from_stage_id: int | None
    to_stage_id: int
    user_id: int | None


class ClaimEtaChanged(TypedDict):
    claim_id: int
    old_eta: str | None
    """ISO date (``2026-05-01``) or None."""
    new_eta: str | None
    user_id: int | None


class ClaimRef(TypedDict):
    claim_id: int
    user_id: int | None


@hookimpl
def register_event_types() -> list[EventType]:
    return [
        EventType("claim.created", ClaimCreated, "A claim was opened (in the shop's first stage unless given one).",
                  staff_live=True),
        EventType("claim.updated", ClaimUpdated, "Claim fields (customer, vehicle, insurer ...) changed value.",
                  portal_live=True, staff_live=True),
        EventType("claim.stage_changed", ClaimStageChanged, "The claim moved to another stage.",
                  portal_live=True, staff_live=True),
        EventType("claim.eta_changed", ClaimEtaChanged, "The promised completion date was set, moved or cleared.",
                  portal_live=True, staff_live=True),
        EventType("claim.delivered", ClaimRef,
                  "The claim entered a terminal stage (Delivered) and was not delivered yet: right after its "
                  "``claim.stage_changed``, in the same transaction. Moving it back to a working stage clears "
                  "the delivery, so a later move to a terminal stage fires it again. Portal links expire a "
                  "shop-set number of days after it.", portal_live=True, staff_live=True),
        EventType("claim.archived", ClaimRef, "The claim was archived (it leaves the board and lists).",
                  staff_live=True),
    ]
