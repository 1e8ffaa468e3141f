"""Fixtures for the e-signature plugin tests (on top of Bayline's pytest plugin)."""
from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from bayline_sms.testing.telnyx_standin import TelnyxStandIn
from flask.testing import FlaskClient
from PIL import Image, ImageDraw

from bayline.testing.forms import csrf_token

JSON = {"Accept": "application/json"}
SHOP_NUMBER = "+16175550199"


@pytest.fixture
def telnyx_api() -> Iterator[TelnyxStandIn]:
    """The SMS plugin's local Telnyx stand-in (HTTP), for the texts a module sends."""
    server = TelnyxStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def texting_config(telnyx_api: TelnyxStandIn) -> dict[str, Any]:
    """``create_app`` settings pointing the SMS plugin at the stand-in: a module that texts says
    ``app_config = texting_config`` (a fixture of its own returning this)."""
    return telnyx_api.app_settings()


@pytest.fixture
def phone(portal_client: Callable[[Any], FlaskClient]) -> Callable[[Any], FlaskClient]:
    """``phone(claim)`` → the core's verified portal session for ``claim``, from a phone at a known IP."""

    def factory(claim: Any) -> FlaskClient:
        client = portal_client(claim)
        client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) TestPhone"
        client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
        return client

    return factory


def csrf_from(client: FlaskClient, url: str = "/plugins/esign/verify") -> str:
    """Load an HTML page with a form and return its CSRF token (the session keeps the secret)."""
    return csrf_token(client.get(url, headers={"Accept": "text/html"}))


def drawn_signature() -> str:
    img = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(img).line([(10, 80), (80, 20), (150, 70), (290, 30)], fill=(0, 0, 0, 255), width=4)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def blank_signature() -> str:
    buf = io.BytesIO()
    Image.new("RGBA", (300, 100), (255, 255, 255, 0)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def shop_with_package(make_shop: Callable, make_claim: Callable, api_client: Callable) -> Callable[..., Any]:
    """``shop_with_package(templates=[...])`` → (shop, claim, staff api client, package json)."""

    def factory(templates: tuple[str, ...] = ("repair_authorization",), **extra: Any) -> tuple[Any, ...]:
        shop = make_shop(plan="starter")
        claim = make_claim(shop, vehicle_year=2021, vehicle_make="Subaru", vehicle_model="Outback",
                           vin="1HGCM82633A004352", insurer="Acme Mutual")
        staff = api_client(shop)
        resp = staff.post(f"/plugins/esign/claims/{claim.id}/packages", json={"templates": list(templates), **extra},
                          headers=JSON)
        assert resp.status_code == 201, resp.get_json()
        return shop, claim, staff, resp.get_json()

    return factory


def sign(client: FlaskClient, doc_id: str, **form: Any) -> Any:
    url = f"/c/s/esign/documents/{doc_id}"
    token = csrf_from(client)
    data = {"csrf_token": token, "method": "drawn", "signature": drawn_signature(), "intent": "1",
            "time_zone": "America/New_York", **form}
    return client.post(f"{url}/sign", data=data, headers=JSON)


def consent(client: FlaskClient, package_id: str, doc_id: str) -> Any:
    client.get(f"/c/s/esign/documents/{doc_id}", headers=JSON)  # the customer reviews it first
    token = csrf_from(client)
    return client.post(f"/c/s/esign/packages/{package_id}/consent", data={"csrf_token": token, "agree": "1"},
                       headers=JSON)


@pytest.fixture
def texting_package(shop_with_package: Callable[..., Any]) -> Callable[..., Any]:
    """``texting_package(**extra)`` → (shop, claim, staff, package) for a shop with a texting number."""

    def factory(*args: Any, **extra: Any) -> tuple[Any, ...]:
        shop, claim, staff, pkg = shop_with_package(*args, **extra)
        resp = staff.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER, "messaging_profile_id": "mp-1"})
        assert resp.status_code == 200, resp.get_json()
        resp = staff.patch("/api/v1/shop/settings", json={"messaging.quiet_hours_start": "",
                                                           "messaging.quiet_hours_end": ""})
        assert resp.status_code == 200, resp.get_json()
        return shop, claim, staff, pkg

    return factory


def last_code(api: TelnyxStandIn, to: str) -> str:
    """The newest signing code the stand-in received for ``to``."""
    texts = [r["json"]["text"] for r in api.message_posts() if r["json"]["to"] == to]
    found = re.search(r"your signing code is (\d{6})\.", texts[-1] if texts else "")
    assert found, texts
    return found.group(1)


def prove(client: FlaskClient, api: TelnyxStandIn, package_id: str, signer_id: str, mobile: str) -> Any:
    """Ask for a code for ``signer_id`` in ``client``'s session and confirm it (the signer's own proof)."""
    base = f"/c/s/esign/packages/{package_id}/otp"
    resp = client.post(base, data={"csrf_token": csrf_from(client), "signer": signer_id}, headers=JSON)
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(f"{base}/verify", data={"csrf_token": csrf_from(client), "signer": signer_id,
                                               "code": last_code(api, mobile)}, headers=JSON)
    assert resp.status_code == 200, resp.get_json()
    return resp


@pytest.fixture
def h() -> SimpleNamespace:
    """Helpers for the signing flow (fixtures, so test modules need no imports from this directory)."""
    return SimpleNamespace(JSON=JSON, csrf_from=csrf_from, drawn_signature=drawn_signature,
                           blank_signature=blank_signature, sign=sign, consent=consent, prove=prove,
                           last_code=last_code)
