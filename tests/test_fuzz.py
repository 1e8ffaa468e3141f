"""Property-based tests (hypothesis): VIN and phone parsing only ever fail the documented way; and a
bounded schemathesis run of the REST API against its own OpenAPI document (no 5xx, conforming answers)."""
from __future__ import annotations

from typing import Any

import phonenumbers
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from bayline.claims.vin import _TRANSLIT, normalise_vin, vin_error, with_check_digit
from bayline.phones import pretty, to_e164

# Anonymous access is swept by tests/api/test_isolation.py and business rules (VIN check digit, real phone
# numbers, unique numbers) rightly refuse some schema-valid data. Response headers are checked (X-Pagination
# is declared as the JSON string it is, issue 17).
EXCLUDED_CHECKS = [ignored_auth, positive_data_acceptance]
VIN_CHARS = "".join(_TRANSLIT)
REGIONS = [*sorted(phonenumbers.SUPPORTED_REGIONS)[:40], "US", "GB", "CA", "AU", "ZZ", "XX", "", "us"]


@given(st.text(max_size=40))
def test_vin_check_never_raises(raw):
    vin = normalise_vin(raw)
    problem = vin_error(vin)
    assert problem is None or (isinstance(problem, str) and problem)
    if problem is None:
        assert len(vin) == 17 and with_check_digit(vin) == vin


@given(st.text(alphabet=VIN_CHARS, min_size=17, max_size=17))
def test_vin_with_its_check_digit_is_valid_and_one_typo_is_caught(vin):
    good = with_check_digit(vin)
    assert vin_error(good) is None
    assert vin_error(normalise_vin(" " + good.lower() + "\n")) is None
    assert vin_error(good[:8] + ("0" if good[8] != "0" else "1") + good[9:]) is not None


@given(st.text(max_size=30) | st.from_regex(r"\+?[0-9 ()\-.]{0,20}", fullmatch=True), st.sampled_from(REGIONS))
def test_phone_parsing_returns_e164_or_value_error(raw, region):
    try:
        e164 = to_e164(raw, region)
    except ValueError as exc:
        assert str(exc) in ("is not a phone number", "is not a valid phone number")
        return
    assert e164.startswith("+") and e164[1:].isdigit()
    assert to_e164(e164, "US") == e164  # E.164 is a fixed point
    assert pretty(e164)


@given(st.text(max_size=30) | st.none())
def test_pretty_never_raises(value):
    assert isinstance(pretty(value), str)


# --- schemathesis against /api/v1/openapi.json, through the WSGI app, with an admin API key -------------

def summary(failure: BaseException) -> str:
    lines = str(failure).splitlines()
    return " ".join(lines[:1] + [line.strip() for line in lines if "Schema at" in line or " is not " in line])


def _api(app, make_shop, make_claim, api_client) -> tuple[Any, dict[str, str]]:
    shop = make_shop()
    make_claim(shop)
    auth = {"Authorization": api_client(shop).environ_base["HTTP_AUTHORIZATION"]}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # The key is sent with every call (below): schemathesis must not generate (or drop) the security
    # header itself, or a negative case "without Authorization" is sent with it and looks accepted.
    schema.config.generation.update(with_security_parameters=False)
    return schema, auth


def _check(case: Any, response: Any, auth: dict[str, str], failures: list[str], excluded: list[Any]) -> None:
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    if response.status_code >= 500:
        failures.append(f"{where}: {response.text[:300]}")
        return
    try:
        case.validate_response(response, headers=auth, excluded_checks=excluded)
    except BaseException as exc:
        failures.extend(f"{where}: {summary(e)}" for e in getattr(exc, "exceptions", [exc]))


def _each_operation(schema: Any, auth: dict[str, str], mode: GenerationMode, examples: int,
                    excluded: list[Any]) -> list[str]:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    tried: set[str] = set()
    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case):
            tried.add(case.operation.label)
            _check(case, case.call(headers=auth), auth, failures, excluded)

        try:
            check()
        except Unsatisfiable:  # negative mode: an operation without parameters or body has nothing to break
            assert mode is GenerationMode.NEGATIVE
    assert len(tried) >= 15, sorted(tried)
    return failures


def test_api_conforms_to_its_openapi_document(app, make_shop, make_claim, api_client):
    """Every operation, a few generated cases each (bounded), with an admin API key: no 5xx, and every
    answer matches the documented status codes, content types and schemas."""
    schema, auth = _api(app, make_shop, make_claim, api_client)
    failures = _each_operation(schema, auth, GenerationMode.POSITIVE, 6, EXCLUDED_CHECKS)
    assert not failures, "\n".join(sorted(set(failures))[:20])


def test_api_refuses_invalid_data_the_documented_way(app, make_shop, make_claim, api_client):
    """Negative data (bounded): every operation with inputs that break its schema (wrong types,
    out-of-range numbers, missing or extra fields). No 5xx; answers match the documented statuses,
    content types, schemas and headers (errors: the stable ``{"code", "message"}`` JSON)."""
    schema, auth = _api(app, make_shop, make_claim, api_client)
    failures = _each_operation(schema, auth, GenerationMode.NEGATIVE, 6, EXCLUDED_CHECKS)
    assert not failures, "\n".join(sorted(set(failures))[:20])


def test_api_stateful_links(app, make_shop, make_claim, api_client):
    """Stateful (bounded): sequences that follow the links schemathesis infers between operations
    (create a claim, then read, change and list it...). No 5xx, every answer conforming."""
    schema, auth = _api(app, make_shop, make_claim, api_client)
    # Positive data only here (negative data has its own test above): schemathesis' negative
    # mutations inside a state machine may draw differently once a link fills a parameter, which
    # Hypothesis reports as a flaky strategy.
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    failures: list[str] = []
    linked: list[str] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def step(self, input: Any) -> Any:
            if input.transition is not None:
                linked.append(input.transition.id)
            return super().step(input)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": auth}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            _check(case, response, auth, failures, EXCLUDED_CHECKS)

    try:
        Workflow.run(settings=settings(max_examples=20, stateful_step_count=6, deadline=None, database=None,
                                       suppress_health_check=list(HealthCheck)))
    except FlakyStrategyDefinition:
        # The database outlives each scenario (a claim deleted, a key minted), so replaying a choice
        # sequence can draw differently; schemathesis' own runner counts this as a pass too. Every
        # answer seen so far was checked (checks record, never raise), and is asserted below.
        pass
    assert len(set(linked)) >= 5, sorted(set(linked))  # the scenarios did follow links
    assert not failures, "\n".join(sorted(set(failures))[:20])
