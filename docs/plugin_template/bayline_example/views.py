"""Staff routes of the example plugin under ``/plugins/example``."""
from __future__ import annotations

from typing import Any

from flask import request

from bayline.plugin_api import Claim, Refused, commit, get_session, require, staff_blueprint

from .models import ExampleNote, notes_for

bp = staff_blueprint("example")


def _claim(claim_id: int) -> Claim:
    claim = get_session().get(Claim, claim_id)
    if claim is None:
        raise Refused(404, "not_found", "No such claim.")
    return claim


@bp.get("/claims/<int:claim_id>/notes")
@require("claims.read")
def list_notes(claim_id: int) -> Any:
    claim = _claim(claim_id)
    return {"notes": [{"id": n.id, "body": n.body} for n in notes_for(claim.id)]}


@bp.post("/claims/<int:claim_id>/notes")
@require("claims.write")
def add_note(claim_id: int) -> Any:
    claim = _claim(claim_id)
    body = ((request.get_json(silent=True) or {}).get("body") or "").strip()
    if not body or len(body) > 500:
        raise Refused(422, "validation_error", "body must be 1 to 500 characters")
    note = ExampleNote(claim_id=claim.id, body=body)
    get_session().add(note)
    commit()
    return {"id": note.id, "body": note.body}, 201
