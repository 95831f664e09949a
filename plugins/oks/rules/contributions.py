"""The monthly contribution (docs/rules.md §4).

3% of the month's PEK (SGK prime esas kazanç — earnings subject to social-security premium), or the
employee's higher rate or fixed amount; kuruş dropped ("hesaplamalarda virgülden sonraki kuruşlar
dikkate alınmamaktadır"). Truncation, never rounding up: an amount is never more than was due.
Decimal in, Decimal out — a float is refused, because it has already lost kuruş.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

__all__ = ["STATUTORY_RATE", "ContributionError", "to_money", "contribution"]

STATUTORY_RATE = Decimal("0.03")
"""The rate set in law; a presidential decision may set it between 1% and 6%."""

_QUANTUM = {"lira": Decimal("1"), "kurus": Decimal("0.01")}


class ContributionError(ValueError):
    """Input a contribution cannot be computed from; ``code`` says which kind of problem."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def to_money(value: object, *, field: str = "amount") -> Decimal:
    """A finite Decimal from a Decimal, int or numeric string (``"1234.56"``); floats are refused."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or value is None:
        raise ContributionError("not_numeric", f"{field}: expected an amount, got {value!r}")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        raise ContributionError("float", f"{field}: pass money as Decimal or str, not float ({value!r})")
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ContributionError("not_numeric", f"{field}: {value!r} is not a number") from None
    else:
        raise ContributionError("not_numeric", f"{field}: expected an amount, got {type(value).__name__}")
    if not result.is_finite():
        raise ContributionError("not_numeric", f"{field}: {value!r} is not a finite amount")
    return result


def contribution(
    pek: object,
    *,
    rate: object = None,
    fixed_amount: object = None,
    rounding: str = "lira",
    statutory_rate: object = STATUTORY_RATE,
) -> Decimal:
    """The amount to deduct and send for one person, one month and one payment kind.

    - ``rate``: the person's (or contract's) rate as a fraction, at least ``statutory_rate``.
    - ``fixed_amount``: a fixed monthly amount the employee asked for; the statutory share of PEK
      is still the floor, so a fixed amount below it is raised to it (short payment is the
      employer's liability).
    - ``rounding``: ``"lira"`` (default) truncates to whole lira, ``"kurus"`` keeps kuruş, still
      truncating.

    A month with no PEK (unpaid leave, no days) has no deduction, so no contribution.
    """
    if rounding not in _QUANTUM:
        raise ContributionError("rounding", f"rounding must be 'lira' or 'kurus' (got {rounding!r})")
    if rate is not None and fixed_amount is not None:
        raise ContributionError("override", "give a rate or a fixed amount, not both")
    base = to_money(pek, field="pek")
    if base < 0:
        raise ContributionError("negative", f"pek cannot be negative (got {base})")
    statutory = to_money(statutory_rate, field="statutory_rate")
    if not Decimal("0") < statutory <= Decimal("1"):
        raise ContributionError("rate", f"statutory_rate must be a fraction above 0 (got {statutory})")

    quantum = _QUANTUM[rounding]
    if base == 0:
        return Decimal("0").quantize(quantum)

    if rate is None:
        applied = statutory
    else:
        applied = to_money(rate, field="rate")
        if applied < statutory:
            raise ContributionError("rate", f"rate {applied} is below the statutory rate {statutory}")
        if applied > 1:
            raise ContributionError("rate", f"rate {applied} is a fraction; 3% is 0.03")
    amount = (base * applied).quantize(quantum, rounding=ROUND_DOWN)

    if fixed_amount is not None:
        fixed = to_money(fixed_amount, field="fixed_amount")
        if fixed < 0:
            raise ContributionError("negative", f"fixed_amount cannot be negative (got {fixed})")
        amount = max(amount, fixed.quantize(quantum, rounding=ROUND_DOWN))
    return amount
