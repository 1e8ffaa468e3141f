"""Tables of the example plugin: prefixed ``example_``, tenant-owned."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, commit, get_session, utcnow


class ExampleNote(TenantScoped, Base):
    __tablename__ = "example_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def notes_for(claim_id: int) -> list[ExampleNote]:
    return list(get_session().scalars(
        select(ExampleNote).where(ExampleNote.claim_id == claim_id).order_by(ExampleNote.id)))


def record_stage_change(claim_id: int) -> None:
    """``on_event`` runs after the change committed, in its own unit of work: commit what it adds."""
    get_session().add(ExampleNote(claim_id=claim_id, body="Your car moved to a new stage."))
    commit()
