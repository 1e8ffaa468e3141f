"""pytest plugin with Bayline fixtures (entry point ``pytest11``), for the core and plugin authors.

Every test that uses ``app`` runs once per database backend: ``sqlite`` always,
``postgres`` when ``BAYLINE_TEST_POSTGRES_URL`` answers (skipped with the reason
otherwise). Each test gets its own database cloned from a migrated template.

Fixtures: ``app``, ``db``, ``make_shop``, ``make_user``, ``make_claim``,
``client_for``, ``api_client``, ``portal_client``, ``enable_plugin``, ``set_setting``,
``extra_plugins``, ``app_config``, ``sms_outbox``, ``storage``, ``redis_url``.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .databases import PostgresDatabases, SqliteDatabases, postgres_reachable, redis_reachable

if TYPE_CHECKING:
    from bayline.storage import Storage

    from .sms import SmsOutbox

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(autouse=True)
def _celery_joins_allowed(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts outside any Celery worker: ``task.apply().get()`` works. Celery keeps "this
    process is a worker" in one process-wide flag; a test that ran worker start-up code in-process
    must not make later tests on the same pytest worker fail with "Never call result.get() within
    a task!" (a warning names the test that left it set)."""
    from celery._state import _set_task_join_will_block, task_join_will_block

    _set_task_join_will_block(False)
    yield
    if task_join_will_block():
        _set_task_join_will_block(False)
        import warnings

        warnings.warn(f"{request.node.nodeid} left Celery's worker flag set (reset)", stacklevel=1)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    dbs = SqliteDatabases(tmp_path_factory.mktemp("sqlite"))
    _migrate_template(dbs.template_url(), tmp_path_factory)
    return dbs


@pytest.fixture(scope="session")
def _postgres_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresDatabases]:
    ok, reason = postgres_reachable()
    if not ok:
        pytest.skip(reason)
    dbs = PostgresDatabases()
    _migrate_template(dbs.template_url(), tmp_path_factory)
    yield dbs
    dbs.close()


def _migrate_template(url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    from bayline import create_app
    from bayline.db import get_db
    from bayline.migrate import upgrade_all

    app = create_app({"database_url": url, "env": "test", "instance_dir": tmp_path_factory.mktemp("instance")})
    upgrade_all(app)
    get_db(app).dispose()


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """The database backend of this test run: ``sqlite`` or ``postgres``."""
    return request.param


@pytest.fixture
def database_url(db_backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh migrated database for this test."""
    dbs = request.getfixturevalue(f"_{db_backend}_template")
    url = dbs.clone()
    yield url
    dbs.drop(url)


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    """Override to register in-process plugins ``[(name, module)]`` in ``app``."""
    return []


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override to pass extra settings to ``create_app``."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Any, extra_plugins: list[tuple[str, object]],
        app_config: dict[str, Any]) -> Iterator[Flask]:
    """A Bayline app on its own database, in test mode."""
    from bayline import create_app
    from bayline.db import get_db
    from bayline.extensions import limiter

    config = {"database_url": database_url, "env": "test", "instance_dir": tmp_path / "instance",
              "public_url": "http://localhost", **app_config}
    application = create_app(config, plugins=extra_plugins)
    limiter.reset()
    yield application
    get_db(application).dispose()


@pytest.fixture
def db(app: Flask) -> Iterator[Any]:
    """The app's session inside an app context (no tenant set)."""
    from bayline.db import get_session

    with app.app_context():
        yield get_session()


@contextmanager
def in_tenant(app: Flask, shop_id: int | None = None) -> Iterator[Any]:
    """An app context whose session is scoped to ``shop_id`` (or unscoped when None)."""
    from bayline.db import get_session
    from bayline.tenancy import set_tenant, unscoped

    with app.app_context():
        session = get_session()
        if shop_id is None:
            with unscoped(session):
                yield session
        else:
            set_tenant(shop_id, session)
            yield session


@pytest.fixture
def make_shop(app: Flask) -> Callable[..., Any]:
    """``make_shop(plan="starter", name=..., group=None)`` → a committed Shop."""
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Group

    counter = {"n": 0}

    def factory(plan: str = "starter", name: str | None = None, group_id: int | None = None, **fields: Any) -> Any:
        counter["n"] += 1
        n = counter["n"]
        with in_tenant(app) as session:
            group = session.get(Group, group_id) if group_id else provisioning.create_group(
                f"Group {n}", f"group-{n}-{os.urandom(3).hex()}")
            shop = provisioning.create_shop(group, name or f"Shop {n}", slug=f"shop-{n}-{os.urandom(3).hex()}",
                                            plan=plan, **fields)
            commit(session)
            return shop

    return factory


@pytest.fixture
def make_user(app: Flask) -> Callable[..., Any]:
    """``make_user(shop, role="owner")`` → a committed staff User with password ``correct-horse-42``."""
    from bayline.events import commit
    from bayline.tenants import provisioning

    counter = {"n": 0}

    def factory(shop: Any, role: str = "owner", email: str | None = None, group_admin: bool = False) -> Any:
        counter["n"] += 1
        with in_tenant(app) as session:
            user = provisioning.create_user(email or f"staff{counter['n']}-{os.urandom(3).hex()}@example.com",
                                            f"Staff {counter['n']}", "correct-horse-42")
            if group_admin:
                from bayline.tenants.models import Group

                provisioning.make_group_admin(user, session.get(Group, shop.group_id))
            else:
                provisioning.add_membership(user, shop, role)
            commit(session)
            return user

    return factory


@pytest.fixture
def make_claim(app: Flask) -> Callable[..., Any]:
    """``make_claim(shop, **fields)`` → a committed Claim in the shop's first stage."""
    from bayline.claims import service
    from bayline.events import commit

    counter = {"n": 0}

    def factory(shop: Any, **fields: Any) -> Any:
        counter["n"] += 1
        data = {"number": f"RO-{counter['n']:05d}", "customer_first_name": "Dana", "customer_last_name": "Reyes",
                "customer_mobile": "+16175550100", **fields}
        with in_tenant(app, shop.id) as session:
            claim = service.create_claim(data)
            commit(session)
            return claim

    return factory


@pytest.fixture
def client_for(app: Flask) -> Callable[..., FlaskClient]:
    """``client_for(user, shop=None)`` → a test client logged in as ``user`` (at ``shop``)."""

    def factory(user: Any, shop: Any = None) -> FlaskClient:
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
            if shop is not None:
                sess["shop_id"] = shop.id
        return client

    return factory


@pytest.fixture
def api_client(app: Flask) -> Callable[..., FlaskClient]:
    """``api_client(shop, scopes=("admin",))`` → a test client sending a fresh API key of ``shop``."""
    from bayline.auth.api_keys import create_api_key
    from bayline.events import commit

    def factory(shop: Any, scopes: tuple[str, ...] = ("admin",)) -> FlaskClient:
        with in_tenant(app, shop.id) as session:
            _, secret = create_api_key(shop.id, "test", list(scopes), operator=True)
            commit(session)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        return client

    return factory


@pytest.fixture
def portal_client(app: Flask) -> Callable[..., FlaskClient]:
    """``portal_client(claim)`` → a test client with a verified customer portal session for ``claim``
    (bound to the claim's active link, issuing one if it has none, with its own session row, as a
    verified browser gets); pages live under ``/c/s/``."""
    from bayline.claims.models import Claim
    from bayline.events import commit
    from bayline.portal import tokens

    def factory(claim: Any) -> FlaskClient:
        with in_tenant(app, claim.tenant_id) as session:
            current = session.get(Claim, claim.id)
            token = tokens.active_token(current)
            if token is None:
                token = tokens.issue(current).token
                commit(session)
            entry = tokens.open_session(token, current)
            commit(session)
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["portal"] = entry
        return client

    return factory


@pytest.fixture
def set_setting(app: Flask) -> Callable[[Any, str, Any], None]:
    """``set_setting(shop, key, value)`` stores a shop setting as the platform (no role check)."""
    from bayline import settings_registry
    from bayline.events import commit

    def factory(shop: Any, key: str, value: Any) -> None:
        with in_tenant(app, shop.id) as session:
            settings_registry.set_values(shop.id, {key: value}, role=None)
            commit(session)

    return factory


@pytest.fixture
def enable_plugin(app: Flask) -> Callable[[Any, str], None]:
    """``enable_plugin(shop, name)`` grants the feature as an add-on (active on the next request)."""
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop

    def factory(shop: Any, name: str, enabled: bool = True) -> None:
        with in_tenant(app) as session:
            provisioning.set_addon(session.get(Shop, shop.id), name, enabled)
            commit(session)

    return factory


@pytest.fixture
def redis_url() -> str:
    """A reachable Redis URL (``BAYLINE_TEST_REDIS_URL``), or the test is skipped with the reason."""
    ok, reason = redis_reachable()
    if not ok:
        pytest.skip(reason)
    return os.environ["BAYLINE_TEST_REDIS_URL"]


@pytest.fixture
def sms_outbox(app: Flask) -> Iterator[SmsOutbox]:
    """The texts handed to the SMS channel during the test (``len(sms_outbox)``, ``sms_outbox[0].body``,
    ``sms_outbox.to("+1617...")``), captured instead of sent: no SMS plugin needed, none reached."""
    from .sms import CAPTURE_PLUGIN, SendSmsCapture, SmsOutbox

    outbox = SmsOutbox()
    registry = app.extensions["bayline.plugins"]
    registry.register(SendSmsCapture(outbox), CAPTURE_PLUGIN, core=True)
    yield outbox
    registry.unregister(CAPTURE_PLUGIN)


@pytest.fixture
def storage(app: Flask, tmp_path: Any) -> Storage:
    """The app's file storage for this test: local files under ``tmp_path / "storage"`` whatever
    ``BAYLINE_STORAGE_URL`` says (``storage.keys()``, ``storage.get(key)`` to check what was stored)."""
    from bayline.storage import LocalStorage

    backend = LocalStorage(tmp_path / "storage")
    app.extensions["bayline.storage"] = backend
    return backend
