"""Tenant isolation for every tenant-owned model.

A model that mixes in :class:`TenantScoped` carries ``tenant_id`` (the shop). The
session knows the current tenant (``session.info``); every ORM query on a
tenant-owned model gets ``WHERE tenant_id IN (...)`` added through
``with_loader_criteria``, and a query made with no tenant context **raises**.
New rows get ``tenant_id`` stamped at flush; writing a row of another tenant
raises. Admin, migration and lookup code that must cross tenants says so with
:func:`unscoped`.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ForeignKey, Table, bindparam, event
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql.util import find_tables

from .db import Base, get_session


class TenantContextMissing(RuntimeError):
    """A tenant-owned model was queried or written with no tenant context."""


class TenantViolation(RuntimeError):
    """A write tried to touch a row of a tenant outside the current context."""


class TenantScoped:
    """Mixin for tenant-owned models: adds an indexed ``tenant_id`` → shops.id."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True, nullable=False)


@dataclass(frozen=True)
class TenantContext:
    shop_ids: frozenset[int]
    unscoped: bool = False

    @property
    def single(self) -> int | None:
        return next(iter(self.shop_ids)) if len(self.shop_ids) == 1 else None


_INFO_KEY = "bayline.tenant"


class TenantSession(Session):
    """Session class whose ORM statements are tenant-filtered."""


def current_context(session: Session | None = None) -> TenantContext | None:
    return (session or get_session()).info.get(_INFO_KEY)


def current_tenant_id(session: Session | None = None) -> int | None:
    """The shop id the session is scoped to (None outside a single-shop context)."""
    ctx = current_context(session)
    return ctx.single if ctx else None


def set_tenant(shop_id: int | None, session: Session | None = None) -> None:
    """Make ``shop_id`` the tenant of the session (None clears it)."""
    session = session or get_session()
    if shop_id is None:
        session.info.pop(_INFO_KEY, None)
    else:
        session.info[_INFO_KEY] = TenantContext(frozenset({int(shop_id)}))


@contextmanager
def tenant_scope(shop_ids: Iterable[int], session: Session | None = None) -> Iterator[None]:
    """Temporarily scope the session to several shops (the group-admin path)."""
    session = session or get_session()
    previous = session.info.get(_INFO_KEY)
    session.info[_INFO_KEY] = TenantContext(frozenset(int(i) for i in shop_ids))
    try:
        yield
    finally:
        _restore(session, previous)


@contextmanager
def unscoped(session: Session | None = None) -> Iterator[Session]:
    """Explicitly cross tenants (lookups by token hash, admin, migrations)."""
    session = session or get_session()
    previous = session.info.get(_INFO_KEY)
    session.info[_INFO_KEY] = TenantContext(frozenset(), unscoped=True)
    try:
        yield session
    finally:
        _restore(session, previous)


def _restore(session: Session, previous: TenantContext | None) -> None:
    if previous is None:
        session.info.pop(_INFO_KEY, None)
    else:
        session.info[_INFO_KEY] = previous


_TABLES: dict[int, frozenset[Table]] = {}


def _tenant_tables() -> frozenset[Table]:
    """The tables of tenant-owned models (kept until a model is added: plugins map theirs late)."""
    mappers = Base.registry.mappers
    found = _TABLES.get(len(mappers))
    if found is None:
        found = frozenset(m.local_table for m in mappers if issubclass(m.class_, TenantScoped))
        _TABLES.clear()
        _TABLES[len(mappers)] = found
    return found


def _touches_tenant_model(state: ORMExecuteState) -> bool:
    """Whether the statement involves a tenant-owned table anywhere: selected, joined, or in a
    subquery (``select(User.id).join(Membership)`` selects no tenant entity but reads memberships)."""
    if any(issubclass(m.class_, TenantScoped) for m in state.all_mappers):
        return True
    tenant_tables = _tenant_tables()
    return any(t in tenant_tables for t in find_tables(state.statement, check_columns=True,
                                                        include_aliases=True, include_joins=True))


@event.listens_for(TenantSession, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria propagate from the parent query
    ctx: TenantContext | None = state.session.info.get(_INFO_KEY)
    if ctx is not None and ctx.unscoped:
        return
    if ctx is None:
        if not _touches_tenant_model(state):
            return
        names = ", ".join(sorted(m.class_.__name__ for m in state.all_mappers))
        raise TenantContextMissing(f"query on tenant-owned model(s) {names} without a tenant context")
    # Added to every statement, not only those selecting a tenant entity: the criteria also reach
    # tenant tables that are only joined or sit in a subquery, and are a no-op where there are none.
    state.statement = state.statement.options(_criteria(ctx.shop_ids))


@lru_cache(maxsize=4096)
def _criteria(shop_ids: frozenset[int]) -> Any:
    """The loader criteria of one tenant scope, built once and shared by every statement in it.

    Building ``with_loader_criteria`` (and analysing its lambda) per statement cost about as much as
    the rest of a small query's client CPU; the option is immutable, and its lambda's closure (the
    ids) is tracked as bound parameters, so one object per scope serves every statement, and every
    mapped subclass of :class:`TenantScoped` (the criteria resolve per model at compile, cached)."""
    ids = tuple(sorted(shop_ids))
    return with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id.in_(ids), include_aliases=True)


TENANT_PARAM = "_bayline_tenant_id"
_TENANT_BIND = bindparam(TENANT_PARAM)


@lru_cache(maxsize=1)
def single_tenant_criteria() -> Any:
    """The loader criteria of a single-shop scope with the shop as the bound parameter
    :data:`TENANT_PARAM` (``tenant_id = :_bayline_tenant_id`` on every tenant-owned table, joined,
    aliased or in a subquery, as :func:`_criteria` adds them). For a statement compiled once and
    sent as SQL text (:mod:`bayline.bundle`): its tenant is a parameter of each use; the caller
    gives :func:`current_tenant_id` of the session, and only when the session has a single tenant."""
    return with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == _TENANT_BIND,
                                include_aliases=True, track_closure_variables=False)


@event.listens_for(TenantSession, "before_flush")
def _stamp_tenant(session: Session, _flush_context: object, _instances: object) -> None:
    ctx: TenantContext | None = session.info.get(_INFO_KEY)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if ctx is None or ctx.single is None:
                raise TenantContextMissing(f"new {type(obj).__name__} needs a single tenant context")
            obj.tenant_id = ctx.single
        elif ctx is None:
            raise TenantContextMissing(f"new {type(obj).__name__} written without a tenant context")
        elif not ctx.unscoped and obj.tenant_id not in ctx.shop_ids:
            raise TenantViolation(f"{type(obj).__name__} for tenant {obj.tenant_id} outside the context")
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantScoped):
            continue
        if ctx is None:
            raise TenantContextMissing(f"{type(obj).__name__} changed without a tenant context")
        if not ctx.unscoped and obj.tenant_id not in ctx.shop_ids:
            raise TenantViolation(f"{type(obj).__name__} of tenant {obj.tenant_id} outside the context")
