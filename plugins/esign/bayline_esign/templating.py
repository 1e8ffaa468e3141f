"""Document templates: the built-in set and sandboxed rendering from claim fields."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

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


_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=False)


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
    """Render ``body`` in the Jinja sandbox; unknown fields and unsafe access raise TemplateProblem."""
    try:
        return _env.from_string(body).render(**{k: context.get(k) for k in FIELDS})
    except TemplateError as exc:  # SecurityError, UndefinedError and TemplateSyntaxError are TemplateErrors
        raise TemplateProblem(f"{type(exc).__name__}: {exc}") from exc


def check_body(body: str) -> None:
    """Validate a template body against a sample claim before it is saved."""
    sample = {name: "x" for name in FIELDS}
    render_body(body, sample)
