"""A demo group with two shops, staff and 20 claims with history (``flask bayline seed-demo``)."""
from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from bayline import settings_registry
from bayline.auth.api_keys import create_api_key
from bayline.claims import service
from bayline.claims.models import Claim, StageHistory
from bayline.claims.stages import active_stages
from bayline.claims.vin import with_check_digit
from bayline.db import get_session, utcnow
from bayline.events import commit
from bayline.tenancy import set_tenant, unscoped
from bayline.tenants import provisioning
from bayline.tenants.models import Group, Shop

DEMO_PASSWORD = "bayline-demo-2026"
DEMO_OWNER = "owner@harbor.example"
DEMO_PORTAL_SHOP = "harbor-downtown"
DEMO_PORTAL_CLAIM = "RO-24100"

CUSTOMERS = [
    ("Maria", "Lopez"), ("James", "Carter"), ("Aisha", "Khan"), ("Tom", "Nguyen"), ("Grace", "O'Neill"),
    ("Diego", "Ramirez"), ("Olivia", "Smith"), ("Ken", "Watanabe"), ("Fatima", "Haddad"), ("Luke", "Brennan"),
]
VEHICLES = [
    (2021, "Toyota", "Camry", "Silver", "4T1B11HK5MU123456"), (2019, "Honda", "Civic", "Blue", "2HGFC2F59KH512345"),
    (2022, "Ford", "F-150", "Black", "1FTEW1EP6NFA12345"), (2018, "Subaru", "Outback", "Green", None),
    (2020, "Tesla", "Model 3", "White", None), (2017, "Chevrolet", "Malibu", "Red", None),
]
INSURERS = ["State Farm", "GEICO", "Progressive", "Allstate", "USAA", None]


def demo_exists() -> bool:
    return get_session().scalar(select(Group.id).where(Group.slug == "harbor-collision")) is not None


def seed_demo(seed: int = 7) -> dict[str, str]:
    """Create the demo data; returns what to print (login, an API key)."""
    rnd = random.Random(seed)
    session = get_session()
    group = provisioning.create_group("Harbor Collision Group", "harbor-collision", kind="enterprise")
    shops = [
        provisioning.create_shop(group, "Harbor Collision — Downtown", slug="harbor-downtown", plan="elite",
                                 phone="+16175550142", address_line1="120 Harbor St", city="Boston", region="MA",
                                 postal_code="02110", timezone="America/New_York",
                                 hours=[{"days": "Mon–Fri", "open": "07:30", "close": "17:30"},
                                        {"days": "Sat", "open": "08:00", "close": "12:00"}]),
        provisioning.create_shop(group, "Harbor Collision — Quincy", slug="harbor-quincy", plan="starter",
                                 stage_template="production", phone="+16175550199", address_line1="9 Shore Rd",
                                 city="Quincy", region="MA", postal_code="02169", timezone="America/New_York",
                                 hours=[{"days": "Mon–Fri", "open": "08:00", "close": "17:00"}]),
    ]
    owner = provisioning.create_user(DEMO_OWNER, "Pat Harbor", DEMO_PASSWORD)
    provisioning.make_group_admin(owner, group)
    staff = [
        ("frontdesk@harbor.example", "Sam Rivera", "advisor"),
        ("estimator@harbor.example", "Jo Park", "estimator"),
        ("tech@harbor.example", "Alex Kim", "technician"),
    ]
    for shop in shops:
        provisioning.add_membership(owner, shop, "owner")
    for email, name, role in staff:
        user = provisioning.create_user(email, name, DEMO_PASSWORD)
        provisioning.add_membership(user, shops[0], role)
    session.flush()
    api_secret = ""
    for index, shop in enumerate(shops):
        set_tenant(shop.id)
        stages = active_stages()
        count = 14 if index == 0 else 6
        for n in range(count):
            first, last = CUSTOMERS[(n + index) % len(CUSTOMERS)]
            year, make, model, colour, vin = VEHICLES[n % len(VEHICLES)]
            claim = service.create_claim({
                "number": f"RO-{24100 + n + 100 * index}", "customer_first_name": first, "customer_last_name": last,
                "customer_mobile": f"+1617555{1000 + n + 50 * index:04d}",
                "customer_email": f"{first.lower()}@example.com",
                "vehicle_year": year, "vehicle_make": make, "vehicle_model": model, "vehicle_color": colour,
                "vin": with_check_digit(vin) if vin else None,
                "plate": f"{rnd.randint(100, 999)}-{rnd.choice('ABCDEFGHJK')}{rnd.choice('LMNPRSTX')}",
                "insurer": INSURERS[n % len(INSURERS)],
                "claim_type": "insurance" if INSURERS[n % len(INSURERS)] else "customer_pay",
                "eta": date.today() + timedelta(days=rnd.randint(2, 12)),
            }, owner.id)
            session.flush()
            target = rnd.randint(0, len(stages) - 1)
            start = utcnow() - timedelta(days=target * 2 + rnd.randint(1, 3))
            with unscoped():
                first_entry = session.scalar(select(StageHistory).where(StageHistory.claim_id == claim.id))
            first_entry.at = start
            claim.created_at = start
            for step in range(1, target + 1):
                service.change_stage(claim, stages[step], owner.id)
                session.flush()
                entry = session.scalar(select(StageHistory).where(StageHistory.claim_id == claim.id)
                                       .order_by(StageHistory.id.desc()))
                entry.at = start + timedelta(days=step * 2, hours=rnd.randint(0, 8))
                claim.stage_entered_at = entry.at
        if index == 0:
            _, api_secret = create_api_key(shop.id, "Demo integration", ["write"], owner.id)
            # the demo portal link opens without questions (Quincy keeps the default verification)
            settings_registry.set_values(shop.id, {"portal.verification": "off"}, role=None)
        commit()
    set_tenant(shops[0].id)
    return {"email": DEMO_OWNER, "password": DEMO_PASSWORD, "api_key": api_secret}


def demo_portal_link() -> dict[str, str] | None:
    """Issue a new customer link for the demo claim (its previous link stops) and return it with what a
    customer would type when the shop asks for verification. Only hashes are stored, so the link of an
    existing claim can't be printed: a fresh one is the only way to show a working URL."""
    from bayline.portal import tokens
    from bayline.portal.verify import mode

    session = get_session()
    shop = session.scalar(select(Shop).where(Shop.slug == DEMO_PORTAL_SHOP))
    if shop is None:
        return None
    set_tenant(shop.id)
    claim = session.scalar(select(Claim).where(Claim.number == DEMO_PORTAL_CLAIM))
    if claim is None:
        return None
    link = tokens.issue(claim)
    commit()
    return {"url": link.url, "verification": mode(shop.id), "last_name": claim.customer_last_name,
            "claim_number": claim.number, "shop": shop.name}


def demo_summary() -> dict[str, int]:
    session = get_session()
    with unscoped():
        claims = session.query(Claim).count()
    return {"shops": session.query(Shop).count(), "claims": claims}
