"""Tenant isolation at the ORM layer: filtering, raising without context, stamping, cross-tenant writes."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bayline.claims.models import Claim
from bayline.db import get_session
from bayline.tenancy import (
    TenantContextMissing,
    TenantViolation,
    set_tenant,
    tenant_scope,
    unscoped,
)


def test_query_without_tenant_context_raises(app, make_shop, make_claim):
    make_claim(make_shop())
    with app.app_context():
        with pytest.raises(TenantContextMissing):
            get_session().scalars(select(Claim)).all()
        with pytest.raises(TenantContextMissing):
            get_session().execute(update(Claim).values(internal_notes="x"))


def test_queries_see_only_current_tenant(app, make_shop, make_claim):
    a, b = make_shop(), make_shop()
    ca, cb = make_claim(a), make_claim(b)
    with app.app_context():
        set_tenant(a.id)
        session = get_session()
        assert [c.id for c in session.scalars(select(Claim))] == [ca.id]
        assert session.get(Claim, cb.id) is None
        # bulk update of the other tenant's row touches nothing
        session.execute(update(Claim).where(Claim.id == cb.id).values(internal_notes="leak"))
        session.commit()
        with unscoped():
            assert session.get(Claim, cb.id, populate_existing=True).internal_notes is None


def test_new_rows_are_stamped_and_foreign_writes_refused(app, make_shop, make_claim):
    a, b = make_shop(), make_shop()
    cb = make_claim(b)
    with app.app_context():
        set_tenant(a.id)
        session = get_session()
        from bayline.claims.models import EtaHistory

        entry = EtaHistory(claim_id=cb.id)
        session.add(entry)
        session.flush()
        assert entry.tenant_id == a.id
        session.rollback()
        session.add(EtaHistory(claim_id=cb.id, tenant_id=b.id))
        with pytest.raises(TenantViolation):
            session.flush()


def test_group_scope_is_explicit(app, make_shop, make_claim):
    a = make_shop()
    b = make_shop(group_id=a.group_id)
    make_claim(a)
    make_claim(b)
    with app.app_context():
        session = get_session()
        with tenant_scope([a.id, b.id]):
            assert len(session.scalars(select(Claim)).all()) == 2
        with pytest.raises(TenantContextMissing):
            session.scalars(select(Claim)).all()
