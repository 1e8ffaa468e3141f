"""Small value types passed through hooks (the plugin author's vocabulary)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class Feature:
    """A feature key the plan catalogue can grant (equals the plugin name for plugins)."""

    key: str
    name: str
    description: str = ""
    default_tiers: tuple[str, ...] = ()
    """Plan tiers that should include this feature; ``flask bayline features apply-defaults`` adds
    the missing plan rows (it never removes one an operator chose)."""


@dataclass(frozen=True)
class Permission:
    """A permission: the staff roles that hold it and the API-key scopes that grant it.

    ``scopes`` names the key scopes (``"read"``, ``"write"``) that grant it besides ``"admin"``, which
    grants every permission. Return these from ``register_permissions``."""

    name: str
    roles: tuple[str, ...]
    scopes: tuple[Literal["read", "write"], ...] = ()
    description: str = ""


@dataclass(frozen=True)
class EventType:
    """A registered event type: what its payload holds, when it fires, which live pages hear it.

    ``payload`` is a ``TypedDict`` class describing the payload dict (the hook reference is
    generated from it). ``portal_live``: announced to the claim's open portal pages;
    ``staff_live``: to the shop's open staff pages (both only when the payload has ``claim_id``)."""

    name: str
    payload: type
    fires: str
    portal_live: bool = False
    staff_live: bool = False


@dataclass(frozen=True)
class SettingDef:
    """A per-shop setting: ``key`` is namespaced (``sms.quiet_hours_start``).

    How the console's settings page shows it (all optional, keyword arguments after ``feature``):
    ``group`` is the heading it is listed under (empty: the name of its ``feature``, else the
    key's namespace); ``label`` and ``help`` are the words beside the field; ``choice_labels``
    are the words shown for ``choices`` (same order; empty: the values with ``_`` as spaces);
    ``message_template=True`` marks a ``text`` that is a message template (``{first_name}``
    fields): the page previews it with the core template service on one of the shop's claims.
    ``sealed=True`` (implies ``secret``) stores the value encrypted at rest (Fernet under a key derived
    from ``BAYLINE_SECRET_KEY``): reads return it in clear; a value that no longer opens (the key
    changed, another deployment's archive) reads as empty, so the shop enters it again."""

    key: str
    label: str
    type: str = "str"  # str | int | bool | choice | text
    default: Any = None
    choices: tuple[str, ...] = ()
    roles: tuple[str, ...] = ("owner", "admin")
    help: str = ""
    secret: bool = False
    validate: Callable[[Any], Any] | None = None
    feature: str | None = None
    group: str = ""
    choice_labels: tuple[str, ...] = ()
    message_template: bool = False
    sealed: bool = False

    def __post_init__(self) -> None:
        if self.sealed and not self.secret:
            object.__setattr__(self, "secret", True)
        if self.choice_labels and len(self.choice_labels) != len(self.choices):
            raise ValueError(f"setting {self.key}: choice_labels must name each of the {len(self.choices)} choices")
        if self.message_template and self.type != "text":
            raise ValueError(f"setting {self.key}: a message template is a 'text' setting")

    def choice_label(self, value: Any) -> str:
        """The words shown for one of ``choices``."""
        if value in self.choices and self.choice_labels:
            return self.choice_labels[self.choices.index(value)]
        text = str(value).replace("_", " ")
        return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class PortalSection:
    """A card on the customer portal page, already rendered to safe HTML."""

    key: str
    title: str
    html: str
    order: int = 100


@dataclass(frozen=True)
class ClaimPanel:
    """A panel on the staff claim page, already rendered to safe HTML."""

    key: str
    title: str
    html: str
    order: int = 100


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    order: int = 100


@dataclass(frozen=True)
class Event:
    """Something that happened to a tenant's data (``claim.stage_changed`` ...)."""

    type: str
    tenant_id: int
    payload: dict[str, Any]
    occurred_at: datetime
    id: str = field(default="")


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a portal page: the customer of ``claim_id``."""

    claim_id: int
    kind: str = "customer"


class ArchiveRemap(Protocol):
    """What a :class:`ShopArchiveRules` rewriter is given: the new id of an old row and the new storage
    key of an old one. On export the same rewriters run against a remap that returns ids unchanged and
    records every key it is asked about (so the archive carries those files)."""

    def id(self, table: str, old: Any) -> int | None:
        """The new id of row ``old`` of ``table`` (None: that row is not in the archive)."""
        ...

    def key(self, old: str) -> str:
        """The new storage key of ``old`` (``<key>/<name>`` objects under it move along)."""
        ...


JsonRewriter = Callable[[Any, dict[str, Any], ArchiveRemap], Any]
"""``(value, row, remap) -> new value`` for a column holding ids or storage keys inside a value
(JSON lists and dicts); ``row`` is the whole exported row (read-only)."""

RowFix = Callable[[dict[str, Any]], dict[str, Any]]
"""``(row) -> row``: last changes to an imported row (ids and keys are already new)."""


@dataclass(frozen=True)
class ShopArchiveRules:
    """How ``flask bayline export-shop`` / ``import-shop`` treat some tables (``shop_archive_rules``).

    Every table with a ``tenant_id`` and every table reached from one through declared foreign keys
    is carried without rules: new primary keys, foreign keys remapped. Rules say what the schema
    cannot: names are ``"table.column"``."""

    skip_tables: tuple[str, ...] = ()
    """Tables not carried (caches, rows rebuilt on demand)."""
    storage_keys: tuple[str, ...] = ()
    """Columns holding a storage key, or a key prefix whose objects are ``<key>/<name>``: the files go
    into the archive and come back under new keys of the new shop."""
    id_columns: dict[str, str] = field(default_factory=dict)
    """Integer columns naming rows of another table without a declared foreign key → that table."""
    json_columns: dict[str, JsonRewriter] = field(default_factory=dict)
    """Columns holding ids or keys inside a value → a :data:`JsonRewriter`."""
    redact: tuple[str, ...] = ()
    """Columns never written to the archive (secrets sealed under this deployment's key); exported
    as null, so an ``on_import`` fix must fill a NOT NULL one."""
    on_import: dict[str, RowFix] = field(default_factory=dict)
    """Table → a :data:`RowFix` run on each imported row (e.g. revoke live links)."""
# -- payments (hook ``payment_provider``) -------------------------------------------------------


@dataclass(frozen=True)
class CheckoutStart:
    """A payment session a provider opened: ``ref`` is its id, ``url`` where the customer's browser goes."""

    ref: str
    url: str


@dataclass(frozen=True)
class PaidNotice:
    """A verified provider webhook saying a payment session was paid."""

    ref: str
    """The payment session (``CheckoutStart.ref``) the payment belongs to."""
    payment_ref: str
    """The provider's id of the payment (the reference staff see)."""
    amount: Decimal
    currency: str


@runtime_checkable
class PaymentProvider(Protocol):
    """What a plugin returns from ``payment_provider``: one online payment service (Stripe ...).

    ``name`` is the provider's key: the shop setting that picks it and the webhook path
    (``.../webhooks/<name>``) use it."""

    name: str

    def configured(self) -> bool:
        """Whether the platform has the credentials to take payments now."""
        ...

    def start_checkout(self, *, amount: Decimal, currency: str, description: str, claim_id: int, shop_id: int,
                       success_url: str, cancel_url: str) -> CheckoutStart:
        """Open a payment session for ``amount``; raise ``Refused`` (502) when the provider refuses."""
        ...

    def parse_webhook(self, payload: bytes, headers: Any) -> PaidNotice | None:
        """Verify the webhook's signature (raise ``Refused`` 400 when it does not verify) and return the
        payment it reports, or None for events that are not a completed payment."""
        ...


# -- signatures (hook ``request_signature``) ----------------------------------------------------


@dataclass(frozen=True)
class SignatureDocument:
    """A document a plugin wants the customer of a claim to sign.

    ``source`` is the asking plugin's name and ``reference`` its own id of the thing signed (e.g.
    ``"version:12"``): both come back in the provider's signed event, so the asker knows what was
    signed without knowing the signing plugin. ``body`` is the plain text shown and sealed."""

    source: str
    reference: str
    title: str
    body: str
    signer_name: str | None = None
    expires_in_days: int = 14


@dataclass(frozen=True)
class SignatureRequest:
    """A signing request a provider created: ``provider`` is its plugin name, ``package_id`` the public
    id of the signing package (the ``package_id`` of its signed event), ``url`` the portal page where the
    customer signs (a relative URL in the claim's portal)."""

    provider: str
    package_id: str
    url: str


# -- the claim page's composer (hooks ``composer_extensions``, ``message_actions``) ------------------


@dataclass(frozen=True)
class ComposerExtension:
    """A plugin's part of the claim page's one composer (hook ``composer_extensions``).

    ``html`` (already rendered, safe) is shown inside the composer's form, above its buttons, so a
    submit button in it posts the typed body and channel (give it ``formaction`` to post them to your
    own route). ``body``/``channel`` prefill a fresh composer (never over what staff typed after a
    refused send). ``replaces_send=True`` hides the core's Send button while your part is shown (your
    html then carries the send, e.g. a drafted message that must pass your checks first)."""

    key: str
    html: str = ""
    order: int = 100
    body: str | None = None
    channel: str | None = None
    replaces_send: bool = False


@dataclass(frozen=True)
class MessageAction:
    """A small control beside one message of the claim's thread (hook ``message_actions``), already
    rendered to safe HTML (e.g. a form posting to your route)."""

    key: str
    html: str
    order: int = 100


# -- drafting (hooks ``claim_facts``, ``draft_provider``) ----------------------------------------------

FACT_AUDIENCES = ("customer", "adjuster")


@dataclass(frozen=True)
class ClaimFact:
    """One fact about a claim that a drafted message may state (hook ``claim_facts``).

    ``key`` is namespaced (``quotes.balance``), ``label`` the words for it (``Balance due``), ``value``
    the value as it may appear in a message (``$1,240.00``, ``Fri Jun 5, 10:00``). ``audience``:
    ``"customer"`` facts may be told to the customer and the adjuster; ``"adjuster"`` facts only to the
    adjuster (estimate and supplement figures). ``sensitive`` facts (a VIN, a policy number) are masked
    before leaving for a third-party endpoint unless the shop opted in to full context."""

    key: str
    label: str
    value: str
    audience: str = "customer"
    sensitive: bool = False


@dataclass(frozen=True)
class DraftRequest:
    """What a draft provider is asked to write (hook ``draft_provider``).

    ``feature`` is ``sms_reply``, ``email_reply``, ``adjuster_email`` or ``classification``; ``mode``
    ``customer`` or ``adjuster``; ``language`` an ISO code (``en``, ``es``); ``facts`` the fact block
    (already filtered for the mode, masked for external providers); ``thread`` the last messages as
    ``(direction, text)`` (``"in"``: from the customer); ``incoming`` the message being answered, if
    any; ``tone`` the shop's tone settings; ``examples`` recently approved messages; ``config`` the
    provider's settings (endpoint, model, timeout, token limit; a key only for its provider)."""

    feature: str
    mode: str
    language: str
    facts: tuple[ClaimFact, ...]
    thread: tuple[tuple[str, str], ...] = ()
    incoming: str = ""
    intent: str = ""
    tone: dict[str, Any] = field(default_factory=dict)
    examples: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DraftResult:
    """A provider's draft: the text, the intent it answers, and which model wrote it."""

    text: str
    intent: str = ""
    model: str = ""


class DraftProvider(Protocol):
    """Writes a draft message (returned by ``draft_provider``). ``external`` is True when the request
    leaves the deployment (a third-party endpoint): the asking plugin then sends only the fields the
    shop allowed. ``draft`` raises :class:`bayline.plugin_api.Refused` with a stable code (endpoint
    down, unknown model) and never sends anything to a customer."""

    name: str
    external: bool

    def draft(self, request: DraftRequest) -> DraftResult:
        ...


@dataclass(frozen=True)
class Brand:
    """How a shop's customer pages, mails and printed documents look (hook ``branding``).

    Colours are ``#rrggbb``; the plugin that returns a brand has checked their contrast. ``primary``
    is the buttons, links and header colour, ``text_on_primary`` the text on it, ``accent`` the
    highlight (current stage), ``surface`` the card background, ``radius`` the corner radius in px.
    ``stylesheet_url`` and ``logo_url`` / ``favicon_url`` are same-origin paths (the portal's CSP
    allows styles and images from this origin only); ``logo_png`` returns the logo as PNG bytes
    for documents and mails (None: no logo). ``powered_by`` False hides "Powered by Bayline"."""

    name: str
    primary: str = "#0a56e0"
    text_on_primary: str = "#ffffff"
    accent: str = "#0a56e0"
    surface: str = "#ffffff"
    radius: int = 8
    stylesheet_url: str | None = None
    logo_url: str | None = None
    favicon_url: str | None = None
    logo_png: Callable[[], bytes | None] | None = field(default=None, compare=False, repr=False)
    welcome: str | None = None
    sender_name: str | None = None
    powered_by: bool = True


LANDING_KINDS = ("booking", "estimate", "review", "referral", "link")


@dataclass(frozen=True)
class LandingLink:
    """A link on a shop's public landing page ``/p/<slug>`` (and beside the location on ``/g/<slug>``),
    from hook ``landing_links``: "Request an estimate", "Review us on Google".

    ``url`` is a same-origin path (``/plugins/widget/public/...``; keep it relative so it opens on the
    shop's custom host too) or an ``https://`` address; anything else is dropped by the page.
    ``kind`` is one of ``booking``, ``estimate``, ``review``, ``referral``, ``link`` (the page's
    styling; an unknown kind reads as ``link``). Links are sorted by ``order``, then label; a second
    link to the same ``url`` is dropped."""

    label: str
    url: str
    kind: str = "link"
    order: int = 100


@dataclass(frozen=True)
class TenantHost:
    """A custom host name (``status.example-group.com``) and the shops it serves (hook
    ``resolve_host``): only their claims, links and landing pages open on it."""

    host: str
    shop_ids: frozenset[int]
    label: str = ""
