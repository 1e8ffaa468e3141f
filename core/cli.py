"""``flask db ...``, ``flask bayline ...`` and ``flask plugins ...`` commands."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from marshmallow import ValidationError
from sqlalchemy import select

from bayline.db import get_session
from bayline.events import commit
from bayline.tenancy import set_tenant

if TYPE_CHECKING:
    from bayline.tenants.models import Shop

db_cli = AppGroup("db", help="Database migrations (core and every installed plugin).")
bayline_cli = AppGroup("bayline", help="Bayline administration.")
plugins_cli = AppGroup("plugins", help="Installed plugins.")
features_cli = AppGroup("features", help="Features of shops: add-ons, plans (platform administration).")
bayline_cli.add_command(features_cli)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the core and every installed plugin to their heads."""
    from bayline import migrate  # alembic: imported where used, not with the app

    for component in migrate.upgrade_all(current_app):
        click.echo(f"upgraded {component}")
    _apply_default_tiers()


def _apply_default_tiers() -> None:
    from bayline.tenants import features

    for plan, key in features.apply_default_tiers():
        click.echo(f"plan {plan}: added feature {key} (suggested by its plugin)")
    commit()


@db_cli.command("current")
def db_current() -> None:
    from bayline import migrate  # alembic: imported where used, not with the app

    for component, revs in migrate.current(current_app).items():
        click.echo(f"{component}: {', '.join(revs) or '(none)'}")


@db_cli.command("check")
def db_check() -> None:
    """Fail if the models and the migrated database differ."""
    from bayline import migrate  # alembic: imported where used, not with the app

    diffs = migrate.pending_changes(current_app)
    for diff in diffs:
        click.echo(repr(diff))
    sys.exit(1 if diffs else 0)


@db_cli.command("revision")
@click.option("--component", default="core")
@click.option("-m", "--message", required=True)
def db_revision(component: str, message: str) -> None:
    """Autogenerate a revision for the core or a plugin (developers)."""
    from bayline import migrate  # alembic: imported where used, not with the app

    migrate.revision(current_app, component, message)


@bayline_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the demo exists already.")
def seed_demo_cmd(if_empty: bool) -> None:
    """A demo group with two shops, staff users and 20 claims."""
    from bayline.demo import demo_exists, seed_demo

    if current_app.extensions["bayline.settings"].production:
        raise click.ClickException("seed-demo refuses to run in production: it creates staff logins with a "
                                   "published password")
    if demo_exists():
        if if_empty:
            click.echo("demo data present")
            return
        raise click.ClickException("the demo group exists already")
    info = seed_demo()
    click.echo(json.dumps(info))


@bayline_cli.command("demo-info")
def demo_info_cmd() -> None:
    """Print the demo staff login and a working customer portal link (after ``seed-demo``).

    The portal link is new each time: only link hashes are stored, so demo claim RO-24100 at
    harbor-downtown gets a fresh one (its previous link stops)."""
    from bayline.demo import DEMO_OWNER, DEMO_PASSWORD, demo_exists, demo_portal_link

    if not demo_exists():
        raise click.ClickException("no demo data; run `flask bayline seed-demo`")
    base = current_app.extensions["bayline.settings"].public_url
    click.echo("")
    click.echo("  Bayline demo is ready.")
    click.echo(f"  Staff console: {base}/login")
    click.echo(f"  Log in as:     {DEMO_OWNER} / {DEMO_PASSWORD}  (group admin of both demo shops)")
    click.echo(f"  API docs:      {base}/api/v1/docs")
    portal = demo_portal_link()
    if portal is not None:
        click.echo(f"  Customer page: {portal['url']}")
        if portal["verification"] == "off":
            click.echo(f"                 (claim {portal['claim_number']} at {portal['shop']}; no questions asked)")
        else:
            click.echo(f"                 (type last name {portal['last_name']!r} and claim number "
                       f"{portal['claim_number']})")
    click.echo("")


@bayline_cli.command("new-plugin")
@click.argument("name")
@click.option("--path", "path", type=click.Path(path_type=Path), default=None,
              help="The plugin's project folder to create (default: ./bayline-NAME).")
@click.option("--no-revision", is_flag=True, help="Leave migrations/versions empty (no first revision).")
def new_plugin_cmd(name: str, path: Path | None, no_revision: bool) -> None:
    """Scaffold plugin NAME as its own project (pyproject, package, templates, migrations, tests)."""
    from bayline import scaffold

    taken = set(current_app.extensions["bayline.plugins"].plugins) | set(current_app.extensions["bayline.features"])
    try:
        scaffold.check_name(name, taken)
        if importlib.util.find_spec(f"bayline_{name}") is not None:
            taken.add(name)  # importable already (installed but broken, or on the path)
        target = scaffold.new_plugin(name, path or Path(f"bayline-{name}"), taken, first_revision=not no_revision)
    except scaffold.ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created plugin {name} in {target}")
    click.echo(f"next: pip install -e {target} && flask db upgrade && "
               f"flask bayline features grant --shop SLUG {name} && pytest {target}")


@bayline_cli.command("create-shop")
@click.option("--group", "group_name", required=True, help="Group name (created if new).")
@click.option("--name", required=True)
@click.option("--slug")
@click.option("--plan", default="starter")
@click.option("--stages", "stage_template", default="default")
def create_shop_cmd(group_name: str, name: str, slug: str | None, plan: str, stage_template: str) -> None:
    from bayline.tenants import provisioning
    from bayline.tenants.models import Group

    session = get_session()
    group = session.scalar(select(Group).where(Group.name == group_name)) or provisioning.create_group(group_name)
    try:
        shop = provisioning.create_shop(group, name, slug=slug, plan=plan, stage_template=stage_template)
    except ValidationError as exc:
        raise click.ClickException(json.dumps(exc.messages)) from None
    commit()
    click.echo(f"shop {shop.id} {shop.slug}")


@bayline_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--shop", "shop_slug", required=True)
@click.option("--role", default="owner")
@click.password_option()
def create_user_cmd(email: str, name: str, shop_slug: str, role: str, password: str) -> None:
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop

    session = get_session()
    shop = session.scalar(select(Shop).where(Shop.slug == shop_slug))
    if shop is None:
        raise click.ClickException(f"no shop {shop_slug!r}")
    try:
        user = provisioning.create_user(email, name, password)
        provisioning.add_membership(user, shop, role)
    except ValidationError as exc:
        raise click.ClickException(json.dumps(exc.messages)) from None
    commit()
    click.echo(f"user {user.id} {user.email} ({role} at {shop.slug})")


@bayline_cli.command("rotate-api-key")
@click.option("--shop", "shop_slug", required=True)
@click.option("--name", required=True, help="Key name; an active key of that name is revoked.")
@click.option("--scope", "scopes", multiple=True, default=["write"])
def rotate_api_key_cmd(shop_slug: str, name: str, scopes: tuple[str, ...]) -> None:
    """Revoke the shop's key called NAME (if any) and print a new secret.

    ``--scope platform`` makes a platform operator's key (plans and add-ons of every shop through
    ``/api/v1/platform``); only this command issues it."""
    from bayline.auth.api_keys import create_api_key, revoke
    from bayline.auth.models import ApiKey
    from bayline.auth.roles import API_KEY_SCOPES, PLATFORM_SCOPE
    from bayline.tenants.models import Shop

    unknown = set(scopes) - {*API_KEY_SCOPES, PLATFORM_SCOPE}
    if unknown:
        raise click.ClickException(f"unknown scope(s): {', '.join(sorted(unknown))}")
    session = get_session()
    shop = session.scalar(select(Shop).where(Shop.slug == shop_slug))
    if shop is None:
        raise click.ClickException(f"no shop {shop_slug!r}")
    set_tenant(shop.id)
    for key in session.scalars(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))):
        revoke(key)
    _, secret = create_api_key(shop.id, name, list(scopes), operator=True)
    commit()
    click.echo(secret)


@bayline_cli.command("export-shop")
@click.option("--shop", "shop_slug", required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The archive to write (a zip).")
def export_shop_cmd(shop_slug: str, out: Path) -> None:
    """Write one archive of the shop: its rows (core and every plugin) and its stored files.

    Staff users travel as email, name and state (never password hashes); portal link secrets, API
    key and invitation hashes stay behind. See docs/operations.md."""
    from bayline.ops import archive

    try:
        summary = archive.export_shop(current_app, shop_slug, out)
    except archive.ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"exported {summary.shop} to {summary.path}: {sum(summary.rows.values())} rows in "
               f"{len(summary.rows)} tables, {summary.files} files, {summary.users} staff users")


@bayline_cli.command("import-shop")
@click.argument("archive_file", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--slug", help="The shop's slug here (default: the archived one).")
@click.option("--group", "group_slug", help="Add the shop to this existing group (default: recreate its group).")
def import_shop_cmd(archive_file: Path, slug: str | None, group_slug: str | None) -> None:
    """Restore a shop archive as a new shop: new ids, files under new keys, all in one transaction.

    Refused (nothing written) when the slug or group slug is taken, the archive's schema is newer
    than this database, or the archive is corrupt. Customer links and API keys come back revoked;
    staff users are matched by email, new ones are created without a password (reset link)."""
    from bayline.ops import archive

    try:
        summary = archive.import_shop(current_app, archive_file, slug=slug, group_slug=group_slug)
    except archive.ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"imported shop {summary.shop_id} {summary.slug}: {sum(summary.rows.values())} rows, "
               f"{summary.files} files")
    if summary.users_matched:
        click.echo(f"staff matched by email: {', '.join(summary.users_matched)}")
    if summary.users_created:
        click.echo(f"staff created without a password (send them a reset link): {', '.join(summary.users_created)}")
    click.echo("customer portal links and API keys were revoked: issue new ones")


def _flat(exc: ValidationError) -> str:
    messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
    return "; ".join(str(m) for msgs in messages.values() for m in (msgs if isinstance(msgs, list) else [msgs]))


def _shop_or_fail(slug: str) -> Shop:
    from bayline.tenants import features

    try:
        return features.find_shop(slug)
    except ValidationError as exc:
        raise click.ClickException(_flat(exc)) from None


def _feature_change(change: str, shop_slug: str, arg: str) -> None:
    from bayline.tenants import features

    shop = _shop_or_fail(shop_slug)
    try:
        getattr(features, change)(shop, arg)
    except ValidationError as exc:
        raise click.ClickException(_flat(exc)) from None
    commit()


@features_cli.command("list")
@click.option("--shop", "shop_slug", required=True)
@click.option("--json", "as_json", is_flag=True)
def features_list(shop_slug: str, as_json: bool) -> None:
    """Every feature of the shop: from its plan, an add-on, switched off, installed, active."""
    from bayline.tenants import features

    shop = _shop_or_fail(shop_slug)
    rows = [state.as_dict() for state in features.states(shop)]
    if as_json:
        click.echo(json.dumps({"shop": shop_slug, "plan": shop.plan_key, "features": rows}))
        return
    click.echo(f"{shop_slug} (plan {shop.plan_key})")
    for row in rows:
        source = "plan" if row["in_plan"] else "add-on" if row["addon"] else "-"
        state = "on" if row["active"] else "not installed" if not row["installed"] else "off"
        click.echo(f"  {row['key']:<20} {source:<7} {state}")


@features_cli.command("grant")
@click.option("--shop", "shop_slug", required=True)
@click.argument("key")
def features_grant(shop_slug: str, key: str) -> None:
    """Grant feature KEY to the shop as an add-on."""
    _feature_change("grant", shop_slug, key)
    click.echo(f"granted {key} to {shop_slug}")


@features_cli.command("revoke")
@click.option("--shop", "shop_slug", required=True)
@click.argument("key")
def features_revoke(shop_slug: str, key: str) -> None:
    """Take the add-on KEY away from the shop (a plan feature stays: change the plan)."""
    _feature_change("revoke", shop_slug, key)
    click.echo(f"revoked {key} from {shop_slug}")


@features_cli.command("set-plan")
@click.option("--shop", "shop_slug", required=True)
@click.argument("plan")
def features_set_plan(shop_slug: str, plan: str) -> None:
    """Move the shop to plan tier PLAN."""
    _feature_change("change_plan", shop_slug, plan)
    click.echo(f"{shop_slug} is on plan {plan}")


@features_cli.command("apply-defaults")
def features_apply_defaults() -> None:
    """Add the plan rows plugins suggest (Feature.default_tiers), once each; `flask db upgrade` runs it."""
    _apply_default_tiers()


@plugins_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def plugins_list(as_json: bool) -> None:
    """Name, version, state and hooks of every installed plugin."""
    rows = plugin_rows(current_app)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']:<16} {row['version'] or '-':<10} {row['state']:<10} "
                   f"migrations={','.join(row['migrations_head']) or '-'} hooks={','.join(row['hooks'])}")
        if row["error"]:
            click.echo("    " + row["error"].strip().splitlines()[-1])


def plugin_rows(app: Flask) -> list[dict[str, object]]:
    from bayline import migrate  # alembic: imported where used, not with the app

    registry = app.extensions["bayline.plugins"]
    rows = []
    for info in registry.plugins.values():
        if info.core:
            continue
        head: list[str] = []
        if info.state != "broken" and info.migrations_dir is not None:
            head = migrate.heads(app, info.name)
        rows.append({"name": info.name, "version": info.version, "distribution": info.distribution,
                     "state": info.state, "hooks": info.hooks, "migrations_head": head,
                     "error": info.error.strip().splitlines()[-1] if info.error else ""})
    return rows


def init_cli(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(bayline_cli)
    app.cli.add_command(plugins_cli)



