"""Every public function of ``bayline.plugin_api``, used the way a plugin uses it (tests/plugins/apidemo.py)."""
from __future__ import annotations

import pytest
from flask import g

from bayline import plugin_api
from bayline.live import channel, get_broker, shop_channel
from tests.photos.images import jpeg

from . import apidemo

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}


@pytest.fixture
def extra_plugins():
    return [("apidemo", apidemo)]


@pytest.fixture
def app_config(monkeypatch):
    # the environment as the app sees it when it is created; the Flask config wins over it
    monkeypatch.setenv("BAYLINE_PLUGIN_APIDEMO_TOKEN", "from-env")
    monkeypatch.setenv("BAYLINE_PLUGIN_APIDEMO_SCHEMES", "https, http")
    return {"BAYLINE_PLUGIN_APIDEMO_RETRIES": "5"}


@pytest.fixture
def shop(make_shop, enable_plugin):
    shop = make_shop()
    enable_plugin(shop, "apidemo")
    return shop


def test_all_names_exist_and_are_documented():
    for name in plugin_api.__all__:
        obj = getattr(plugin_api, name)
        assert obj.__doc__, f"{name} has no docstring"
    assert len(set(plugin_api.__all__)) == len(plugin_api.__all__)


def test_staff_blueprint_and_require(app, shop, make_shop, make_user, client_for):
    owner = client_for(make_user(shop, "owner"))
    r = owner.get("/plugins/apidemo/whoami", headers=JSON)
    assert r.status_code == 200 and r.get_json() == {"shop_id": shop.id, "role": "owner", "json": True}
    assert owner.get("/plugins/apidemo/manage").get_json() == {"ok": True}
    tech = client_for(make_user(shop, "technician"))
    r = tech.get("/plugins/apidemo/manage", headers=JSON)
    assert r.status_code == 403
    assert r.get_json() == {"code": "permission_denied", "status": 403,
                            "message": "Your role may not do this (apidemo.manage)."}
    page = tech.get("/plugins/apidemo/manage", headers=HTML)  # people get the friendly page
    assert page.status_code == 403 and page.mimetype == "text/html" and b"apidemo.manage" in page.data
    anon = app.test_client().get("/plugins/apidemo/whoami", headers=JSON)
    assert anon.status_code == 401 and anon.get_json()["code"] == "unauthorized"
    other = client_for(make_user(make_shop(), "owner"))  # the plugin is not active there
    r = other.get("/plugins/apidemo/whoami", headers=JSON)
    assert r.status_code == 403 and r.get_json()["code"] == "feature_not_in_plan"


def test_wants_json_rule(app, shop, make_user, client_for):
    owner = client_for(make_user(shop))
    ask = lambda **kw: owner.get("/plugins/apidemo/whoami", **kw).get_json()["json"]  # noqa: E731
    assert ask(headers=JSON) is True
    assert ask(headers=HTML) is False
    assert ask(headers={"Accept": "*/*"}) is False
    assert ask(headers={"Accept": "text/html;q=0.5, application/json"}) is True
    assert ask(json={}) is True  # a JSON body


def test_refused_rolls_back_and_answers_in_the_error_shape(app, shop, api_client):
    owner = api_client(shop, ("read",))  # an API key: no CSRF token needed
    r = owner.post("/plugins/apidemo/greeting", data={"greeting": "hi", "refuse": "1"}, headers=JSON)
    assert r.status_code == 409
    assert r.get_json() == {"code": "apidemo_conflict", "status": 409, "message": "Refused after writing."}
    assert owner.get("/plugins/apidemo/settings").get_json()["greeting"] == "hello"  # nothing was kept
    page = owner.post("/plugins/apidemo/greeting", data={"greeting": "hi", "refuse": "1"}, headers=HTML)
    assert page.status_code == 409 and b"Refused after writing." in page.data
    r = owner.post("/plugins/apidemo/greeting", data={"greeting": "hi"}, headers=JSON)
    assert r.status_code == 200 and r.get_json() == {"greeting": "hi"}


def test_refused_value():
    exc = plugin_api.Refused(422, "bad", "Bad.", errors={"json": {"x": ["required"]}}, headers={"Retry-After": "5"})
    assert (exc.status, exc.code, exc.message, str(exc)) == (422, "bad", "Bad.", "Bad.")
    assert exc.payload() == {"code": "bad", "status": 422, "message": "Bad.", "errors": {"json": {"x": ["required"]}}}
    rejected = plugin_api.Rejected("empty_file", "The file is empty.", filename="a.jpg")
    assert isinstance(rejected, plugin_api.Refused)
    assert rejected.payload()["errors"] == {"files": {"a.jpg": ["The file is empty."]}}


def test_shop_settings_typed(app, shop, make_user, client_for, set_setting):
    owner = client_for(make_user(shop))
    assert owner.get("/plugins/apidemo/settings").get_json() == {
        "greeting": "hello", "limit": 3, "loud": False, "all": {"greeting": "hello", "limit": 3, "loud": False}}
    set_setting(shop, "apidemo.limit", 7)
    set_setting(shop, "apidemo.loud", True)
    data = owner.get("/plugins/apidemo/settings").get_json()
    assert (data["limit"], data["loud"]) == (7, True)
    with app.app_context(), plugin_api.for_shop(shop.id):
        settings = plugin_api.shop_settings("apidemo")
        with pytest.raises(KeyError, match=r"apidemo\.nope"):
            settings.get("nope")
        from marshmallow import ValidationError

        with pytest.raises(ValidationError):
            settings.set({"limit": "many"})
    with app.app_context(), pytest.raises(RuntimeError, match="needs a shop"):
        plugin_api.shop_settings("apidemo")


def test_plugin_config_from_flask_config_and_environment(app, shop, make_user, client_for):
    owner = client_for(make_user(shop))
    assert owner.get("/plugins/apidemo/config").get_json() == {
        "token": "from-env", "retries": 5, "schemes": ["https", "http"]}
    with app.app_context():
        config = plugin_api.plugin_config("apidemo")
        assert config.variable("token") == "BAYLINE_PLUGIN_APIDEMO_TOKEN"
        assert config.require("token") == "from-env"
        with pytest.raises(plugin_api.MissingConfig, match="BAYLINE_PLUGIN_APIDEMO_SECRET"):
            config.require("secret")
        assert plugin_api.plugin_config("other") == {}
        app.config["BAYLINE_PLUGIN_APIDEMO_TOKEN"] = "from-config"
        assert plugin_api.plugin_config("apidemo")["token"] == "from-config"


def test_for_shop_binds_tenant_features_and_hooks(app, shop, make_shop, make_claim):
    plain = make_shop()
    claim = make_claim(shop)
    with app.app_context():
        assert plugin_api.current_tenant_id() is None
        with plugin_api.for_shop(shop.id) as bound:
            assert bound.id == shop.id and g.shop.id == shop.id and "apidemo" in g.features
            assert plugin_api.current_tenant_id() == shop.id
            found = plugin_api.get_session().get(plugin_api.Claim, claim.id)
            assert found is not None
            assert "apidemo" in _implementers(g.hooks.claim_panels)
            with plugin_api.for_shop(plain):  # nested: the other shop, without the plugin
                assert plugin_api.current_tenant_id() == plain.id and "apidemo" not in g.features
                assert "apidemo" not in _implementers(g.hooks.claim_panels)
            assert plugin_api.current_tenant_id() == shop.id and g.shop.id == shop.id
        assert plugin_api.current_tenant_id() is None and "shop" not in g
        with pytest.raises(LookupError):
            with plugin_api.for_shop(10**6):
                pass


def _implementers(caller) -> list[str]:
    return [impl.plugin_name for impl in caller.get_hookimpls()]


def test_issue_portal_link(app, shop, make_claim):
    claim = make_claim(shop)
    with app.app_context(), plugin_api.for_shop(shop):
        first = plugin_api.issue_portal_link(plugin_api.get_session().get(plugin_api.Claim, claim.id))
        plugin_api.commit()
        second = plugin_api.issue_portal_link(plugin_api.get_session().get(plugin_api.Claim, claim.id))
        plugin_api.commit()
    assert first.url.startswith("http://localhost/c/") and first.token_id != second.token_id
    client = app.test_client()
    assert client.get(second.url.removeprefix("http://localhost")).status_code in (200, 302, 303)
    assert app.test_client().get(first.url.removeprefix("http://localhost")).status_code == 404  # rotated


def test_enqueue_starts_a_task_by_name(app, shop, make_claim, enable_plugin):
    enable_plugin(shop, "photos")
    claim = make_claim(shop)
    with app.app_context(), plugin_api.for_shop(shop):
        current = plugin_api.get_session().get(plugin_api.Claim, claim.id)
        photos, _ = plugin_api.files.add_photos(current, [plugin_api.files.Incoming("a.jpg", jpeg())])
        plugin_api.commit()
        assert photos[0].status == "processing"
        plugin_api.enqueue("bayline.photos.process_photo", photos[0].id)  # eager in tests: runs now
        plugin_api.get_session().expire_all()
        assert plugin_api.files.get_photo(photos[0].id).status == "ready"
        with pytest.raises(LookupError, match=r"no Celery task named 'bayline_nope\.task'"):
            plugin_api.enqueue("bayline_nope.task")


def test_messages_set_delivery_publishes_after_commit(app, shop, make_claim):
    claim = make_claim(shop)
    with app.app_context():
        broker = get_broker()
        portal = broker.subscribe(channel(shop.id, claim.id))
        staff = broker.subscribe(shop_channel(shop.id))
        try:
            with plugin_api.for_shop(shop):
                session = plugin_api.get_session()
                message = plugin_api.messages.send(session.get(plugin_api.Claim, claim.id), "Hello", None,
                                                   channel="sms")
                plugin_api.commit()
                for sub in (portal, staff):  # the send's own message.sent event
                    assert sub.get(timeout=60)["type"] == "message.sent"
                assert message.delivery_state == "queued"
                plugin_api.messages.set_delivery(message, "sent", external_id="tx-1")
                session.rollback()  # a rolled-back change tells no page
                plugin_api.messages.set_delivery(message.id, "delivered", external_id="tx-1", event_id="delivery:k1")
                assert portal.get(timeout=0.01) is None  # not before the commit
                plugin_api.commit()
                published = {"type": "message.sent", "id": "delivery:k1", "claim_id": claim.id}
                assert portal.get(timeout=60) == published and staff.get(timeout=60) == published
                row = session.get(plugin_api.Message, message.id)
                assert (row.delivery_state, row.external_id) == ("delivered", "tx-1")
                plugin_api.messages.set_delivery(row, "sent")  # late, out-of-order report: ignored
                plugin_api.commit()
                assert session.get(plugin_api.Message, message.id).delivery_state == "delivered"
                assert portal.get(timeout=0.01) is None
                with pytest.raises(ValueError):
                    plugin_api.messages.set_delivery(row, "lost")
                assert plugin_api.messages.set_delivery(10**6, "sent") is None
        finally:
            portal.close()
            staff.close()


def test_files_api(app, shop, make_claim, enable_plugin):
    enable_plugin(shop, "photos")
    claim = make_claim(shop)
    files = plugin_api.files
    with app.app_context(), plugin_api.for_shop(shop):
        session = plugin_api.get_session()
        current = session.get(plugin_api.Claim, claim.id)
        photos, _batch = files.add_photos(current, [files.Incoming("car.jpg", jpeg())], tag="before",
                                         visibility="customer", caption="Front")
        plugin_api.commit()
        files.process(photos)  # eager in tests: renditions made now
        photo = files.get_photo(photos[0].id, claim.id)
        assert photo is not None and photo.caption == "Front"
        session.refresh(photo)
        assert photo.status == "ready" and photo in files.customer_photos(current)
        url = files.signed_url(photo, "display", expires=60)
        assert url.startswith("http://localhost/files/photos/")
        rows, _ = files.add_attachments(current, [files.Incoming("doc.pdf", _pdf())], source="staff")
        plugin_api.commit()
        assert files.get_attachment(rows[0].id, claim.id).filename == "doc.pdf"
        with pytest.raises(files.Rejected) as refused:
            files.add_photos(current, [files.Incoming("x.jpg", b"not an image")])
        assert refused.value.status in (415, 422) and refused.value.filename == "x.jpg"
        session.rollback()
    fetched = app.test_client().get(url.removeprefix("http://localhost"))
    assert fetched.status_code == 200 and fetched.mimetype == "image/jpeg"


def _pdf() -> bytes:
    from tests.photos.images import pdf

    return pdf()


def test_portal_blueprint_and_current_portal_claim(app, shop, make_shop, make_claim, portal_client, enable_plugin):
    claim = make_claim(shop)
    r = portal_client(claim).get("/c/s/apidemo/")
    assert r.status_code == 200 and r.get_json() == {"claim": claim.number, "shop": shop.id}
    assert app.test_client().get("/c/s/apidemo/").status_code == 404  # no portal session
    enable_plugin(shop, "apidemo", False)
    assert portal_client(claim).get("/c/s/apidemo/").status_code == 404  # plugin not active


def test_public_blueprint_csrf_exempt_and_rate_limit(app):
    client = app.test_client()
    assert client.post("/plugins/apidemo/ping").get_json() == {"pong": True}  # no shop, no CSRF token
    assert client.post("/plugins/apidemo/ping").status_code == 200
    r = client.post("/plugins/apidemo/ping", headers=JSON)
    assert r.status_code == 429 and r.get_json()["code"] == "rate_limited"


def test_api_blueprint_joins_openapi(app, shop, make_shop, make_claim, api_client):
    claim = make_claim(shop)
    client = api_client(shop, ("read",))
    r = client.get(f"/api/v1/plugins/apidemo/claims/{claim.id}")
    assert r.status_code == 200 and r.get_json() == {"claim_id": claim.id, "number": claim.number}
    missing = client.get("/api/v1/plugins/apidemo/claims/999999")
    assert missing.status_code == 404 and missing.get_json() == {
        "code": "not_found", "status": 404, "message": "No such claim."}
    anon = app.test_client().get(f"/api/v1/plugins/apidemo/claims/{claim.id}")
    assert anon.status_code == 401 and anon.get_json()["code"] == "unauthorized"
    other = api_client(make_shop(), ("read",))
    r = other.get(f"/api/v1/plugins/apidemo/claims/{claim.id}")
    assert r.status_code == 403 and r.get_json()["code"] == "feature_not_in_plan"
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    path = spec["paths"]["/api/v1/plugins/apidemo/claims/{claim_id}"]["get"]
    assert path["tags"] == ["plugin_apidemo_api"]
    assert "404" in path["responses"] and "200" in path["responses"]
    assert {"name": "plugin_apidemo_api", "description": "Demo resources of the apidemo plugin"} in spec["tags"]
    assert spec["security"] == [{"apiKey": []}]
    assert app.test_client().get("/api/v1/docs").status_code == 200


def test_public_url_is_built_from_the_configured_public_url(app):
    with app.app_context():
        assert plugin_api.public_url("/c/s/quotes/paid") == "http://localhost/c/s/quotes/paid"
        assert plugin_api.public_url("plugins/x") == "http://localhost/plugins/x"
        assert plugin_api.public_url() == "http://localhost/"


def test_seal_opens_only_for_its_purpose_and_key(app):
    with app.app_context():
        sealed = plugin_api.seal("app-password-1", "email.connection")
        assert "app-password-1" not in sealed
        assert plugin_api.unseal(sealed, "email.connection") == "app-password-1"
        assert plugin_api.unseal(sealed, "other.purpose") is None
        assert plugin_api.unseal(sealed[:-4] + "AAAA", "email.connection") is None
        assert plugin_api.unseal(None, "email.connection") is None


def test_notify_shop_owners_mails_only_that_shops_owners(app, make_shop, make_user):
    shop, other = make_shop(), make_shop()
    owner = make_user(shop, "owner", email="owner-notify@harbor.test")
    make_user(shop, "advisor", email="advisor-notify@harbor.test")
    make_user(other, "owner", email="other-owner@harbor.test")
    with app.app_context():
        sent = app.extensions.setdefault("bayline.outbox", [])
        sent.clear()
        assert plugin_api.notify_shop_owners("Mailbox stopped", "Reconnect it.", shop.id) == [owner.email]
        assert [m["to"] for m in sent] == [owner.email]


def test_channel_ready_asks_the_shops_active_plugins(app, shop, sms_outbox):
    """``plugin_api.channel_ready(shop, channel)``: the hook ``channel_ready`` of the shop's active
    plugins (the SMS capture can text; nobody sends email in this test)."""
    with app.test_request_context("/"), plugin_api.for_shop(shop.id) as bound:
        assert plugin_api.channel_ready(bound, "sms") is True
        assert plugin_api.channel_ready(bound, "email") is False
