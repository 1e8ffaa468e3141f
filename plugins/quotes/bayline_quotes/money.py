"""Money: one rounding policy per shop, used identically by the API, the portal, the PDF and payments.

Every amount is a :class:`~decimal.Decimal` in the shop's currency. A line's money is split into
components, each in a tax category:

* ``parts``  - quantity x unit price when the line names a part (part number or part type),
* ``other``  - quantity x unit price otherwise (towing, storage, fees),
* ``labor``  - labour hours x labour rate,
* ``paint``  - paint and materials,
* ``sublet`` - sublet work.

Tax applies to the components of *taxable* lines at the category's rate (percent, e.g. 9.975).

Rounding (``RoundingPolicy.mode``):

* ``line``  - each component's extended amount and its tax are rounded to the cent on the line;
  totals are sums of rounded line amounts.
* ``total`` - extended amounts are kept exact; tax is computed once per (payer, category) on the
  exact sum and rounded there; net amounts are rounded per (payer, category).

``tax_inclusive``: prices already contain the tax; tax is extracted as ``gross * r / (1 + r)``.

Payers: each line is paid by ``insurer``, ``customer`` or ``warranty`` (goodwill). Betterment
(``betterment_pct`` of an insurer line's gross, rounded per line) moves to the customer; then the
deductible moves from the insurer's part to the customer's (never more than the insurer's part).
Rounding is half-up (``ROUND_HALF_UP``) to the currency's minor unit (babel's currency data).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal, Protocol

from babel.numbers import format_currency, get_currency_precision

CATEGORIES = ("parts", "labor", "paint", "sublet", "other")
PAYERS = ("insurer", "customer", "warranty")
ZERO = Decimal("0")
HUNDRED = Decimal("100")


class MoneyError(ValueError):
    """A value that is not a usable amount (the message names it)."""


def to_decimal(value: Any, name: str = "amount", *, allow_negative: bool = True) -> Decimal:
    """``value`` (str, int, Decimal; never float) as a finite Decimal, else :class:`MoneyError`."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, float):
        value = repr(value)
    try:
        out = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise MoneyError(f"{name}: {str(value)[:40]!r} is not a number") from None
    if not out.is_finite():
        raise MoneyError(f"{name}: {value!r} is not a number")
    if not allow_negative and out < 0:
        raise MoneyError(f"{name}: must not be negative")
    return out


class LineLike(Protocol):
    """What the calculator reads from a line (a model row or an imported line)."""

    quantity: Decimal
    unit_price: Decimal
    labor_hours: Decimal
    labor_rate: Decimal
    paint_materials: Decimal
    sublet: Decimal
    taxable: bool
    payer: str
    betterment_pct: Decimal
    part_number: str | None
    part_type: str | None


@dataclass(frozen=True)
class RoundingPolicy:
    """The shop's (jurisdiction's) money rules."""

    currency: str = "USD"
    mode: Literal["line", "total"] = "line"
    tax_inclusive: bool = False
    rates: Mapping[str, Decimal] = field(default_factory=dict)
    locale: str = "en_US"

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-get_currency_precision(self.currency))

    def round(self, value: Decimal) -> Decimal:
        return value.quantize(self.quantum, rounding=ROUND_HALF_UP)

    def rate(self, category: str) -> Decimal:
        return self.rates.get(category, ZERO) / HUNDRED

    def format(self, value: Decimal, signed: bool = False) -> str:
        text = format_currency(abs(value) if signed else value, self.currency, locale=self.locale)
        if signed:
            return ("-" if value < 0 else "+") + text
        return text

    def split_tax(self, amount: Decimal, category: str) -> tuple[Decimal, Decimal]:
        """(net, tax) of an exact ``amount`` in ``category``, unrounded."""
        r = self.rate(category)
        if self.tax_inclusive:
            tax = amount * r / (1 + r)
            return amount - tax, tax
        return amount, amount * r


def components(line: LineLike) -> dict[str, Decimal]:
    """A line's exact extended amounts by category (zero ones left out)."""
    out: dict[str, Decimal] = {}
    price = line.quantity * line.unit_price
    if price:
        out["parts" if (line.part_number or line.part_type) else "other"] = price
    labor = line.labor_hours * line.labor_rate
    if labor:
        out["labor"] = labor
    if line.paint_materials:
        out["paint"] = line.paint_materials
    if line.sublet:
        out["sublet"] = line.sublet
    return out


@dataclass
class Amounts:
    net: Decimal = ZERO
    tax: Decimal = ZERO

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax

    def add(self, net: Decimal, tax: Decimal) -> None:
        self.net += net
        self.tax += tax

    def as_dict(self, policy: RoundingPolicy) -> dict[str, str]:
        return {"net": str(policy.round(self.net)), "tax": str(policy.round(self.tax)),
                "gross": str(policy.round(self.gross))}


@dataclass
class LineAmounts:
    key: Any
    payer: str
    net: Decimal
    tax: Decimal
    betterment: Decimal
    by_category: dict[str, Decimal]

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


@dataclass
class Totals:
    """Everything a screen, a PDF or a payment needs, already rounded."""

    policy: RoundingPolicy
    categories: dict[str, Amounts]
    lines: dict[Any, LineAmounts]
    payer_gross: dict[str, Decimal]  # before betterment and deductible
    payers: dict[str, Decimal]  # what each payer owes, after betterment and deductible
    betterment: Decimal
    deductible: Decimal
    deductible_applied: Decimal

    @property
    def net(self) -> Decimal:
        return sum((a.net for a in self.categories.values()), ZERO)

    @property
    def tax(self) -> Decimal:
        return sum((a.tax for a in self.categories.values()), ZERO)

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax

    def as_dict(self) -> dict[str, Any]:
        """Every amount as a string with the currency's decimals (``"0.00"``, never ``"0"``)."""
        r = self.policy.round
        return {
            "currency": self.policy.currency,
            "rounding": self.policy.mode,
            "tax_inclusive": self.policy.tax_inclusive,
            "net": str(r(self.net)), "tax": str(r(self.tax)), "total": str(r(self.gross)),
            "categories": {k: v.as_dict(self.policy) for k, v in self.categories.items() if v.net or v.tax},
            "payers": {k: str(r(v)) for k, v in self.payers.items()},
            "betterment": str(r(self.betterment)),
            "deductible": str(r(self.deductible)),
            "deductible_applied": str(r(self.deductible_applied)),
        }


def compute(lines: Iterable[tuple[Any, LineLike]], policy: RoundingPolicy, deductible: Decimal = ZERO) -> Totals:
    """Totals of ``(key, line)`` pairs under ``policy``; the one implementation every surface uses."""
    rnd = policy.round
    categories = {c: Amounts() for c in CATEGORIES}
    per_line: dict[Any, LineAmounts] = {}
    # total mode: exact sums per (payer, category), rounded once
    exact: dict[tuple[str, str], Decimal] = {}
    for key, line in lines:
        parts = components(line)
        net_sum = tax_sum = ZERO
        for cat, amount in parts.items():
            if policy.mode == "line":
                amount = rnd(amount)
            if line.taxable:
                net, tax = policy.split_tax(amount, cat)
            else:
                net, tax = amount, ZERO
            if policy.mode == "line":
                tax = rnd(tax)
                net = amount - tax if policy.tax_inclusive else amount
                categories[cat].add(net, tax)
            else:
                exact[(line.payer, cat, line.taxable)] = exact.get((line.payer, cat, line.taxable), ZERO) + amount
            net_sum += net
            tax_sum += tax
        gross = net_sum + tax_sum
        betterment = rnd(gross * line.betterment_pct / HUNDRED if line.payer == "insurer" else ZERO)
        per_line[key] = LineAmounts(key, line.payer, rnd(net_sum), rnd(tax_sum), betterment,
                                    {c: rnd(v) for c, v in parts.items()})
    payer_gross = dict.fromkeys(PAYERS, ZERO)
    if policy.mode == "line":
        for la in per_line.values():
            payer_gross[la.payer] += la.net + la.tax
    else:
        for (payer, cat, taxable), amount in exact.items():
            if taxable:
                net, tax = policy.split_tax(amount, cat)
                tax = rnd(tax)
                net = rnd(amount) - tax if policy.tax_inclusive else rnd(amount)
            else:
                net, tax = rnd(amount), ZERO
            categories[cat].add(net, tax)
            payer_gross[payer] += net + tax
    betterment = sum((la.betterment for la in per_line.values()), ZERO)
    payers = dict(payer_gross)
    payers["insurer"] -= betterment
    payers["customer"] += betterment
    deductible = rnd(deductible or ZERO)
    applied = max(ZERO, min(deductible, payers["insurer"]))
    payers["insurer"] -= applied
    payers["customer"] += applied
    return Totals(policy, categories, per_line, payer_gross, payers, betterment, deductible, applied)
