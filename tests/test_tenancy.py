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


def test_tenant_model_only_joined_is_still_filtered(app, make_shop, make_user, make_claim):
    """A statement selecting only platform-wide columns (users) but joining a tenant-owned table
    (memberships, claims) is filtered by the joined table's tenant too. Before the fix the check looked
    only at the selected entities, so ``select(User.id).join(Membership)`` listed every shop's staff."""
    from bayline.auth.models import User
    from bayline.tenants.models import Membership

    a, b = make_shop(), make_shop()
    ua, ub = make_user(a), make_user(b)
    make_claim(a)
    make_claim(b)
    with app.app_context():
        session = get_session()
        set_tenant(a.id)
        ids = session.scalars(select(User.id).join(Membership, Membership.user_id == User.id)).all()
        assert ids == [ua.id]
        assert ub.id not in session.scalars(select(User.id).join(Membership)).all()
        # an aggregate over a joined tenant table, and a subquery in WHERE
        from sqlalchemy import func
        count = session.scalar(select(func.count(User.id)).join(Membership, Membership.user_id == User.id))
        assert count == 1
        sub = select(Membership.user_id)
        assert session.scalars(select(User.id).where(User.id.in_(sub))).all() == [ua.id]
        set_tenant(None)
        with pytest.raises(TenantContextMissing):
            session.scalars(select(User.id).join(Membership, Membership.user_id == User.id)).all()
