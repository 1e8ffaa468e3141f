"""Staff routes of the example plugin under ``/plugins/example``."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, request

from bayline.claims.models import Claim
from bayline.db import get_session
from bayline.events import commit

from .models import ExampleNote, notes_for

bp = Blueprint("plugin_example", __name__, url_prefix="/plugins/example")


def _claim(claim_id: int) -> Claim:
    if g.get("principal") is None:
        abort(401)
    claim = get_session().get(Claim, claim_id)
    if claim is None:
        abort(404)
    return claim


@bp.get("/claims/<int:claim_id>/notes")
def list_notes(claim_id: int) -> Any:
    claim = _claim(claim_id)
    return {"notes": [{"id": n.id, "body": n.body} for n in notes_for(claim.id)]}


@bp.post("/claims/<int:claim_id>/notes")
def add_note(claim_id: int) -> Any:
    claim = _claim(claim_id)
    body = ((request.get_json(silent=True) or {}).get("body") or "").strip()
    if not body or len(body) > 500:
        abort(422, "body must be 1 to 500 characters")
    note = ExampleNote(claim_id=claim.id, body=body)
    get_session().add(note)
    commit()
    return {"id": note.id, "body": note.body}, 201
