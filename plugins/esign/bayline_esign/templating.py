"""Document templates: the built-in set and sandboxed rendering from claim fields."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

BUILTIN: dict[str, dict[str, Any]] = {
    "repair_authorization": {
        "title": "Repair authorization",
        "requires_initials": True,
        "body": (
            "I, {{ customer_name }}, authorize {{ shop_name }} to repair my {{ vehicle or 'vehicle' }}"
            "{% if vin %} (VIN {{ vin }}){% endif %} under repair order {{ claim_number }}.\n\n"
            "{% if insurer %}The repair is handled with {{ insurer }}"
            "{% if insurer_claim_number %}, claim {{ insurer_claim_number }}{% endif %}. "
            "I understand that I am responsible for my deductible and for any amount my insurer does not pay.\n\n"
            "{% endif %}I authorize the shop to operate the vehicle for testing, inspection and delivery, "
            "and I grant the shop a mechanic's lien on the vehicle for the amount of the repairs."
        ),
    },
    "betterment_ack": {
        "title": "Betterment acknowledgement",
        "requires_initials": False,
        "body": (
            "I, {{ customer_name }}, understand that {{ insurer or 'my insurer' }} may deduct betterment "
            "(wear-and-tear) charges for parts replaced on my {{ vehicle or 'vehicle' }} under repair order "
            "{{ claim_number }}, and that I am responsible for paying those charges to {{ shop_name }}."
        ),
    },
    "supplement_approval": {
        "title": "Supplement approval",
        "requires_initials": False,
        "body": (
            "Additional damage was found on my {{ vehicle or 'vehicle' }} during the repair under repair order "
            "{{ claim_number }}. I, {{ customer_name }}, approve the supplemental repairs described by "
            "{{ shop_name }}{% if insurer %} and submitted to {{ insurer }}{% endif %}."
        ),
    },
    "pickup_signoff": {
        "title": "Pickup / delivery sign-off",
        "requires_initials": False,
        "body": (
            "I, {{ customer_name }}, have received my {{ vehicle or 'vehicle' }}"
            "{% if plate %} (plate {{ plate }}){% endif %} from {{ shop_name }} on {{ today }} "
            "and have inspected the repairs made under repair order {{ claim_number }}."
        ),
    },
    "terms_consent": {
        "title": "Terms and data consent",
        "requires_initials": False,
        "body": (
            "I, {{ customer_name }}, accept the terms of service of {{ shop_name }} and agree that the shop "
            "keeps my contact and vehicle information for the repair under repair order {{ claim_number }} "
            "and for the warranty of that repair."
        ),
    },
}

BUILTIN_KINDS = tuple(BUILTIN)

# The only names a template may use; anything else is an error at save and at render time.
FIELDS = (
    "customer_name", "customer_first_name", "customer_last_name", "customer_mobile", "customer_email",
    "vehicle", "vehicle_year", "vehicle_make", "vehicle_model", "vehicle_color", "vin", "plate",
    "claim_number", "insurer", "insurer_claim_number", "adjuster_name", "shop_name", "today",
)


class TemplateProblem(ValueError):
    """A template cannot be rendered (syntax, unknown field, sandbox violation)."""


_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=False)

MAX_BODY_CHARS = 20_000
MAX_OUTPUT_CHARS = 100_000
MAX_CONST_CHARS = 500
# The template language shop staff may use: fields, text, {% if %}/{% elif %}/{% else %}, ``or``/``and``/
# ``not`` and ``==``/``!=`` against literals. No arithmetic, filters, calls, loops or attribute access:
# ``{{ 7**16000000 }}`` held a worker (GIL) for 84 s before, whatever the sandbox allowed.
_ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.If,
                  nodes.Or, nodes.And, nodes.Not, nodes.Compare, nodes.Operand, nodes.CondExpr)
_ALLOWED_COMPARE = frozenset({"eq", "ne"})


def _check_language(body: str) -> None:
    if len(body) > MAX_BODY_CHARS:
        raise TemplateProblem(f"the template is too long (at most {MAX_BODY_CHARS} characters)")
    try:
        tree = _env.parse(body)
    except TemplateError as exc:
        raise TemplateProblem(f"{type(exc).__name__}: {exc}") from exc
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise TemplateProblem(f"not allowed in a document template: {type(node).__name__.lower()} "
                                  "(use fields, text and {% if %} only)")
        if isinstance(node, nodes.Name) and (node.ctx != "load" or node.name not in FIELDS):
            raise TemplateProblem(f"unknown field {node.name!r}")
        if isinstance(node, nodes.Operand) and node.op not in _ALLOWED_COMPARE:
            raise TemplateProblem("only == and != compare fields")
        if isinstance(node, nodes.Const) and not (
                node.value is None or isinstance(node.value, bool)
                or (isinstance(node.value, str) and len(node.value) <= MAX_CONST_CHARS)
                or (isinstance(node.value, int) and abs(node.value) < 10**9)):
            raise TemplateProblem("literals are short texts or small numbers")


def claim_context(claim: Any, shop_name: str) -> dict[str, Any]:
    return {
        "customer_name": claim.customer_name,
        "customer_first_name": claim.customer_first_name,
        "customer_last_name": claim.customer_last_name,
        "customer_mobile": claim.customer_mobile,
        "customer_email": claim.customer_email,
        "vehicle": claim.vehicle,
        "vehicle_year": claim.vehicle_year,
        "vehicle_make": claim.vehicle_make,
        "vehicle_model": claim.vehicle_model,
        "vehicle_color": claim.vehicle_color,
        "vin": claim.vin,
        "plate": claim.plate,
        "claim_number": claim.number,
        "insurer": claim.insurer,
        "insurer_claim_number": claim.insurer_claim_number,
        "adjuster_name": claim.adjuster_name,
        "shop_name": shop_name,
        "today": datetime.now(UTC).date().isoformat(),
    }


def render_body(body: str, context: dict[str, Any]) -> str:
    """Render ``body`` (the restricted language above, in the Jinja sandbox); anything else, an unknown
    field or an over-long result raises TemplateProblem."""
    _check_language(body)
    try:
        out = _env.from_string(body).render(**{k: context.get(k) for k in FIELDS})
    except TemplateError as exc:  # SecurityError, UndefinedError and TemplateSyntaxError are TemplateErrors
        raise TemplateProblem(f"{type(exc).__name__}: {exc}") from exc
    except (ArithmeticError, MemoryError, RecursionError, TypeError, ValueError) as exc:
        raise TemplateProblem(f"the template cannot be rendered: {type(exc).__name__}") from exc
    if len(out) > MAX_OUTPUT_CHARS:
        raise TemplateProblem(f"the document is too long (at most {MAX_OUTPUT_CHARS} characters)")
    return out


def check_body(body: str) -> None:
    """Validate a template body against a sample claim before it is saved."""
    sample = {name: "x" for name in FIELDS}
    render_body(body, sample)
