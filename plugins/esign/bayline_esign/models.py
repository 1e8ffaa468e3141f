"""E-signature tables (prefix ``esign_``), all tenant-scoped."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, utcnow


def new_public_id() -> str:
    return uuid.uuid4().hex


class EsignTemplate(TenantScoped, Base):
    """One version of a shop's document template. Never edited in place: a change is a new version."""

    __tablename__ = "esign_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(40))  # repair_authorization ... or custom
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    requires_initials: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EsignPackage(TenantScoped, Base):
    """Documents prepared by staff for one claim, signed by the customer in order."""

    __tablename__ = "esign_packages"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), default=new_public_id, unique=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    signer_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="sent")  # sent | completed | cancelled
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    declined_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    source: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """The plugin that asked for this package through ``request_signature`` (None: staff prepared it)."""
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """That plugin's own id of what is signed; both return in ``document.signed``."""

    documents: Mapped[list[EsignDocument]] = relationship(
        back_populates="package", order_by="EsignDocument.position", lazy="selectin")
    signers: Mapped[list[EsignSigner]] = relationship(
        back_populates="package", order_by="EsignSigner.position", lazy="selectin")


class EsignSigner(TenantScoped, Base):
    """One person who must sign every document of a package (the owner, a spouse ...)."""

    __tablename__ = "esign_signers"
    __table_args__ = (UniqueConstraint("package_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), default=new_public_id, unique=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("esign_packages.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(32), nullable=True)
    otp_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    package: Mapped[EsignPackage] = relationship(back_populates="signers")


class EsignOtp(TenantScoped, Base):
    """A one-time code texted to a signer: only its HMAC is kept; 10 minutes, 5 attempts."""

    __tablename__ = "esign_otps"
    id: Mapped[int] = mapped_column(primary_key=True)
    signer_id: Mapped[int] = mapped_column(ForeignKey("esign_signers.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    to_number: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EsignSend(TenantScoped, Base):
    """One send (or re-send) of a package's link to a signer by text, keyed for idempotency."""

    __tablename__ = "esign_sends"
    __table_args__ = (UniqueConstraint("tenant_id", "idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("esign_packages.id", ondelete="CASCADE"), index=True)
    signer_id: Mapped[int] = mapped_column(ForeignKey("esign_signers.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    to_number: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EsignDocument(TenantScoped, Base):
    """One document of a package: the exact template version, its rendering and, once signed, the PDF."""

    __tablename__ = "esign_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), default=new_public_id, unique=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("esign_packages.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("esign_templates.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    requires_initials: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="sent")  # sent | viewed | signed
    original_pdf: Mapped[bytes] = mapped_column(LargeBinary)
    original_sha256: Mapped[str] = mapped_column(String(64))
    signed_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # rows from before storage
    signed_pdf_key: Mapped[str | None] = mapped_column(String(200), nullable=True)  # core storage backend
    signed_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    package: Mapped[EsignPackage] = relationship(back_populates="documents")
    signatures: Mapped[list[EsignSignature]] = relationship(lazy="selectin", order_by="EsignSignature.id")
    template: Mapped[EsignTemplate] = relationship(lazy="joined")


class EsignConsent(TenantScoped, Base):
    """ESIGN/UETA consent to do business electronically, recorded per package; withdrawable."""

    __tablename__ = "esign_consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("esign_packages.id", ondelete="CASCADE"), index=True)
    # Who consented (no foreign key: SQLite could only add one by rebuilding a table that
    # signatures point at; a signer is only deleted with its package, which takes its consents along).
    signer_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    signer_name: Mapped[str] = mapped_column(String(200))
    consent_text: Mapped[str] = mapped_column(Text)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(500), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EsignSignature(TenantScoped, Base):
    """The act of signing one document: who, how, from where, with which consent."""

    __tablename__ = "esign_signatures"
    __table_args__ = (UniqueConstraint("document_id", "signer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("esign_documents.id", ondelete="CASCADE"), index=True)
    signer_id: Mapped[int | None] = mapped_column(
        ForeignKey("esign_signers.id", ondelete="CASCADE"), nullable=True, index=True)
    verification: Mapped[str | None] = mapped_column(String(300), nullable=True)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("esign_consents.id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))  # drawn | typed
    image_png: Mapped[bytes] = mapped_column(LargeBinary)
    initials: Mapped[str | None] = mapped_column(String(10), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(500), nullable=True)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
