"""The personnel and payroll suites, as code: every check the validation step runs on a run's snapshot.

A check names the field it judges, its level and the Great Expectations expectation that does the
judging; the step turns the catalogue into two GX suites (``oks_personnel``, ``oks_payroll``) at run
time. This module imports no GX, so reading the catalogue (docs, tests, the CLI) costs nothing.

Levels:

* ``structure`` — about the snapshot as a whole (no rows, a column missing or mistyped): the run stops.
* ``error`` — the row cannot go on: it is quarantined with a masked message; the other rows continue.
* ``warning`` — flagged in the summary and the Data Docs; the row continues.

Settings with a stated default where the sources leave room (docs/rules.md: a setting, never a silent
guess): how late a regular wage may be paid after its period, and the age range of a worker.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from oks.payroll.columns import PAYROLL_COLUMNS
from oks.privacy import mask_email, mask_iban, mask_phone, mask_tckn
from oks.rules.identity import InvalidIdentifier, normalize_iban, normalize_mobile, normalize_tckn

__all__ = [
    "PERSONNEL",
    "PAYROLL",
    "SUITES",
    "Level",
    "QualitySettings",
    "RunFacts",
    "Check",
    "CHECKS",
    "checks_for",
    "rule_name",
    "TABLE",
]

PERSONNEL = "oks_personnel"
PAYROLL = "oks_payroll"
SUITES = (PERSONNEL, PAYROLL)

Level = Literal["structure", "error", "warning"]
TABLE = "(table)"
"""The field of checks about the snapshot as a whole."""

CITIZENSHIPS = ("TR", "BLUE_CARD", "FOREIGN")
SGK_STATUSES = ("4a", "4b", "4c")
PAYMENT_KINDS = ("regular", "supplementary")
BEARERS = ("employee", "employer")
FUNDS = ("STANDARD", "PARTICIPATION")
# Deliberately plain: one @, no spaces, a dotted domain ending in two or more characters. It catches
# the typo'd and the truncated address and lets Turkish letters through (hüseyin@…). No backslashes,
# so Python's re (SQLite) and PostgreSQL read it alike, and GX prints it intact.
EMAIL_PATTERN = "^[^@ ]+@[^@ .]+([.][^@ .]+)*[.][^@ .]{2,}$"


@dataclass(frozen=True)
class QualitySettings:
    """The knobs of the suites.

    ``wage_paid_grace_days`` — a regular wage may be paid from the period's first day up to this many
    days after its last (default 15: payroll often pays a month's wage in the first half of the next;
    later than that is more likely a wrong period or date). Supplementary payments (bonus, arrears)
    only may not precede the period.
    ``min_age`` / ``max_age`` — a worker's plausible age on the period's last day (default 14–100:
    Turkish labour law allows light work from 14).
    ``pek_ceiling_tolerance`` — a PEK above this many times the month's SGK ceiling is not a PEK at all
    (a misread amount, a gross wage in the wrong column): the row is quarantined (default 2; between
    the ceiling and this it is a warning). ``max_pek_without_limits`` — the same guard, in lira, for a
    period whose year's limits are not on file (default 10,000,000: a sanity bound, not a limit).
    """

    wage_paid_grace_days: int = 15
    min_age: int = 14
    max_age: int = 100
    pek_ceiling_tolerance: int = 2
    max_pek_without_limits: int = 10_000_000


@dataclass(frozen=True)
class RunFacts:
    """What the suites need to know about the run: its period and the SGK limits in force."""

    run_id: int
    period: str  # YYYY-MM
    pek_daily_limits: tuple[Decimal, Decimal] | None = None  # floor, ceiling; None: no parameters

    @property
    def period_start(self) -> date:
        year, month = (int(part) for part in self.period.split("-"))
        return date(year, month, 1)

    @property
    def period_end(self) -> date:
        start = self.period_start
        return date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])


def max_pek(facts: RunFacts, settings: QualitySettings) -> int:
    """The largest PEK a line may carry before it is refused as implausible (whole lira)."""
    if facts.pek_daily_limits is None:
        return settings.max_pek_without_limits
    return int(facts.pek_daily_limits[1] * 30 * settings.pek_ceiling_tolerance)


def _statutory_rate(facts: RunFacts) -> Decimal:
    from oks.rules.statutory_rate import statutory_rate_for

    return statutory_rate_for(facts.period_start).rate


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class Check:
    name: str
    suite: str
    field: str
    level: Level
    expectation: str  # GX expectation class: a custom one of oks.quality.expectations, or a built-in
    description: str  # shown in Data Docs; English with the Turkish term once
    kwargs: Callable[[RunFacts, QualitySettings], dict] = lambda facts, settings: {}
    message: Callable[[Mapping, RunFacts, QualitySettings], str] = lambda row, facts, settings: ""
    message_columns: tuple[str, ...] = ()
    # An error check on a column the payroll must carry: failing on every row means the column is
    # missing from the source, which is a structural problem, not N bad rows.
    column_must_exist: bool = False
    # Likewise for other checks: what failing on every row says about the snapshot as a whole.
    all_rows_failing_means: str | None = None
    applies: Callable[[RunFacts], bool] = field(default=lambda facts: True)

    @property
    def rule(self) -> str:
        return rule_name(self.expectation)

    @property
    def columns(self) -> tuple[str, ...]:
        own = () if self.field == TABLE else (self.field,)
        return own + tuple(c for c in self.message_columns if c != self.field)


def rule_name(expectation_class: str) -> str:
    """GX's name for an expectation class: ``ExpectColumnValuesToBeValidTckn`` → ``expect_column_values_to_be_valid_tckn``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", expectation_class).lower()


# --- messages (masked: a personal value is never written in full) ---------------------------------


def _identifier_reason(normalize: Callable[[object], str], value: object) -> str:
    # The Python rule names the reason (checksum, reserved_digit, not_mobile, …); the SQL check is
    # its proven equivalent, stricter only for spellings no payroll export uses.
    try:
        normalize(value)
    except InvalidIdentifier as exc:
        return exc.code
    return "unusual spelling (write it as digits, spaces and dashes)"


def _missing(field_name: str) -> Callable[[Mapping, RunFacts, QualitySettings], str]:
    return lambda row, facts, settings: f"{field_name}: missing"


def _not_in(field_name: str, allowed: tuple[str, ...]) -> Callable[[Mapping, RunFacts, QualitySettings], str]:
    return lambda row, facts, settings: f"{field_name} {str(row[field_name])[:20]!r}: not one of {', '.join(allowed)}"


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _pek_limits_text(row: Mapping, facts: RunFacts) -> str:
    floor, ceiling = facts.pek_daily_limits or (Decimal(0), Decimal(0))
    days = int(row["sgk_days"])
    if row["payment_kind"] != "regular":
        return f"pek {row['pek']}: above the ceiling {ceiling * days:.2f} for {days} SGK days"
    return f"pek {row['pek']}: outside {floor * days:.2f} – {ceiling * days:.2f} for {days} SGK days"


def _kurus(amount: Decimal) -> int:
    kurus = amount * 100
    if kurus != kurus.to_integral_value():
        raise ValueError(f"a daily PEK limit with fractions of a kuruş: {amount}")
    return int(kurus)


# --- the catalogue -------------------------------------------------------------------------------

_COLUMN_KINDS = {c.name: c.kind for c in PAYROLL_COLUMNS}
_PERSON_COLUMNS = (
    "payroll_id", "tckn", "first_name", "last_name", "birth_date", "citizenship", "sgk_status", "hire_date",
    "exit_date", "iban", "mobile", "email", "has_oks_certificate", "voluntary",
)  # fmt: skip
_PAY_COLUMNS = tuple(name for name in _COLUMN_KINDS if name not in _PERSON_COLUMNS)


def _not_null(suite: str, column: str, gloss: str) -> Check:
    return Check(
        name=f"{column}_present",
        suite=suite,
        field=column,
        level="error",
        expectation="ExpectColumnValuesToNotBeNull",
        description=f"{column} is given ({gloss})",
        message=_missing(column),
        column_must_exist=True,
    )


CHECKS: tuple[Check, ...] = (
    # --- personnel: the person ----------------------------------------------------------------------
    Check(
        name="has_rows",
        suite=PERSONNEL,
        field=TABLE,
        level="structure",
        expectation="ExpectTableRowCountToBeBetween",
        description="the run's snapshot has payroll lines",
        kwargs=lambda facts, settings: {"min_value": 1},
    ),
    Check(
        name="person_columns",
        suite=PERSONNEL,
        field=TABLE,
        level="structure",
        expectation="ExpectPayrollColumnsPresentAndTyped",
        description="the person columns of the payroll contract are present and typed",
        kwargs=lambda facts, settings: {"columns": {c: _COLUMN_KINDS[c] for c in _PERSON_COLUMNS}},
    ),
    Check(
        name="tckn_checksum",
        suite=PERSONNEL,
        field="tckn",
        level="error",
        expectation="ExpectColumnValuesToBeValidTckn",
        description="TCKN (T.C. Kimlik No, the national identity number) has 11 digits and valid check digits",
        message=lambda row, facts, settings: f"TCKN {mask_tckn(row['tckn'])}: {_identifier_reason(normalize_tckn, row['tckn'])}",
    ),
    _not_null(PERSONNEL, "first_name", "Adı, as in the population register"),
    _not_null(PERSONNEL, "last_name", "Soyadı, as in the population register"),
    _not_null(PERSONNEL, "birth_date", "Doğum Tarihi"),
    Check(
        name="birth_date_not_in_future",
        suite=PERSONNEL,
        field="birth_date",
        level="error",
        expectation="ExpectColumnValuesToNotBeInTheFuture",
        description="birth date is not after the pay period",
        kwargs=lambda facts, settings: {"as_of": facts.period_end.isoformat()},
        message=lambda row, facts, settings: f"birth_date: after the end of period {facts.period}",
    ),
    Check(
        name="birth_date_plausible",
        suite=PERSONNEL,
        field="birth_date",
        level="error",
        expectation="ExpectColumnValuesToBePlausibleBirthDates",
        description="birth date gives a worker's age (settings: min_age–max_age on the period's last day)",
        kwargs=lambda facts, settings: {
            "as_of": facts.period_end.isoformat(),
            "born_after": _years_before(facts.period_end, settings.max_age).isoformat(),
            "born_before": _years_before(facts.period_end, settings.min_age).isoformat(),
        },
        message=lambda row, facts, settings: (
            f"birth_date: age {_age(_as_date(row['birth_date']), facts.period_end)} on {facts.period_end},"
            f" outside {settings.min_age}–{settings.max_age}"
        ),
    ),
    _not_null(PERSONNEL, "citizenship", "Uyruk"),
    Check(
        name="citizenship_known",
        suite=PERSONNEL,
        field="citizenship",
        level="error",
        expectation="ExpectColumnValuesToBeInSet",
        description="citizenship is TR, BLUE_CARD (Mavi Kart) or FOREIGN",
        kwargs=lambda facts, settings: {"value_set": list(CITIZENSHIPS)},
        message=_not_in("citizenship", CITIZENSHIPS),
    ),
    _not_null(PERSONNEL, "sgk_status", "SGK Statüsü"),
    Check(
        name="sgk_status_known",
        suite=PERSONNEL,
        field="sgk_status",
        level="error",
        expectation="ExpectColumnValuesToBeInSet",
        description="SGK status is 4a, 4b or 4c (5510 md. 4/1)",
        kwargs=lambda facts, settings: {"value_set": list(SGK_STATUSES)},
        message=_not_in("sgk_status", SGK_STATUSES),
    ),
    _not_null(PERSONNEL, "hire_date", "İşe Giriş Tarihi"),
    Check(
        name="hired_by_the_period",
        suite=PERSONNEL,
        field="hire_date",
        level="error",
        expectation="ExpectColumnValuesToNotBeInTheFuture",
        description="the hire date (İşe Giriş) is not after the pay period: nobody contributes before they are hired",
        kwargs=lambda facts, settings: {"as_of": facts.period_end.isoformat()},
        message=lambda row, facts, settings: f"hire_date {row['hire_date']}: after the end of period {facts.period}",
    ),
    Check(
        name="not_left_before_the_period",
        suite=PERSONNEL,
        field="exit_date",
        level="error",
        expectation="ExpectColumnValuesToNotBeBeforeThePeriod",
        description="a regular wage is not paid to someone who left before the period (arrears may be)",
        kwargs=lambda facts, settings: {"as_of": facts.period_start.isoformat()},
        message=lambda row, facts, settings: f"exit_date {row['exit_date']}: before period {facts.period}, yet a regular wage",
        message_columns=("payment_kind",),
    ),
    Check(
        name="one_person_per_tckn",
        suite=PERSONNEL,
        field="tckn",
        level="warning",
        expectation="ExpectOnePersonPerTckn",
        description="another employer's record of this TCKN has the same name and birth date (one TCKN, one person)",
        kwargs=lambda facts, settings: {"run_id": facts.run_id},
        message=lambda row, facts, settings: f"TCKN {mask_tckn(row['tckn'])}: another employer holds it with another name or birth date",
    ),
    Check(
        name="exit_not_before_hire",
        suite=PERSONNEL,
        field="exit_date",
        level="error",
        expectation="ExpectColumnPairValuesAToBeGreaterThanB",
        description="the exit date (İşten Çıkış) is not before the hire date",
        kwargs=lambda facts, settings: {
            "column_A": "exit_date",
            "column_B": "hire_date",
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
        message=lambda row, facts, settings: f"exit_date {row['exit_date']}: before hire_date {row['hire_date']}",
        message_columns=("hire_date",),
    ),
    Check(
        name="iban_present",
        suite=PERSONNEL,
        field="iban",
        level="error",
        expectation="ExpectColumnValuesToNotBeNull",
        description="iban is given (IBAN: the insurer pays refunds and exits to it; DES's pre-check refuses a person without one)",
        message=lambda row, facts, settings: "iban: missing — the insurer pays refunds and exits to it; DES refuses a person without one",
        column_must_exist=True,
    ),
    Check(
        name="iban_valid",
        suite=PERSONNEL,
        field="iban",
        level="error",
        expectation="ExpectColumnValuesToBeValidTrIban",
        description="IBAN is Turkish with valid MOD-97 check digits and reserved digit 0",
        message=lambda row, facts, settings: f"IBAN {mask_iban(row['iban'])}: {_identifier_reason(normalize_iban, row['iban'])}",
    ),
    _not_null(PERSONNEL, "mobile", "Cep Telefonu: DES needs it for every person"),
    Check(
        name="mobile_valid",
        suite=PERSONNEL,
        field="mobile",
        level="error",
        expectation="ExpectColumnValuesToBeTrMobile",
        description="mobile is a Turkish mobile number (the insurer texts the employee), not a landline",
        message=lambda row, facts, settings: f"mobile {mask_phone(row['mobile'])}: {_identifier_reason(normalize_mobile, row['mobile'])}",
    ),
    Check(
        name="email_well_formed",
        suite=PERSONNEL,
        field="email",
        level="error",
        expectation="ExpectColumnValuesToMatchRegex",
        description="e-mail (E-posta), when given, is a well-formed address",
        kwargs=lambda facts, settings: {"regex": EMAIL_PATTERN},
        message=lambda row, facts, settings: f"e-mail {mask_email(row['email'])}: not a well-formed address",
    ),
    # --- payroll: the pay line ----------------------------------------------------------------------
    Check(
        name="pay_columns",
        suite=PAYROLL,
        field=TABLE,
        level="structure",
        expectation="ExpectPayrollColumnsPresentAndTyped",
        description="the employer and pay columns of the payroll contract are present and typed",
        kwargs=lambda facts, settings: {"columns": {c: _COLUMN_KINDS[c] for c in _PAY_COLUMNS}},
    ),
    Check(
        name="contract_known",
        suite=PAYROLL,
        field="contract_no",
        level="error",
        expectation="ExpectColumnValuesToBeKnownContracts",
        description="the contract number (Sözleşme No) is in the contract master",
        message=lambda row, facts, settings: f"contract_no {str(row['contract_no'])[:40]}: not in the contract master",
        all_rows_failing_means="no contract number of the payroll is in the contract master (was the contracts file loaded?)",
    ),
    Check(
        name="contract_of_the_employer",
        suite=PAYROLL,
        field="contract_no",
        level="error",
        expectation="ExpectContractOfTheRowsEmployer",
        description="the contract belongs to the row's employer (by the contract master), not to another employer",
        message=lambda row, facts, settings: f"contract_no {str(row['contract_no'])[:40]}: a contract of another employer",
    ),
    Check(
        name="employer_name_as_master_data",
        suite=PAYROLL,
        field="employer_name",
        level="error",
        expectation="ExpectEmployerNameAsInMasterData",
        description="the employer's name is the one the store holds for its VKN (a rename is a master-data change)",
        message=lambda row, facts, settings: (
            f"employer_name {str(row['employer_name'])[:60]!r}: not the name the store holds for VKN {row['employer_vkn']}"
            " (rename with `oks employer rename` if it changed)"
        ),
        message_columns=("employer_vkn",),
    ),
    Check(
        name="person_unique",
        suite=PAYROLL,
        field="tckn",
        level="error",
        expectation="ExpectPersonUniquePerContractPeriodAndKind",
        description="one line per person, contract, period and payment kind (a bonus beside the wage is fine; the first line stands)",
        message=lambda row, facts, settings: (
            f"TCKN {mask_tckn(row['tckn'])}: repeats an earlier {row['payment_kind']} line"
            f" for contract {row['contract_no']} in {row['period']}"
        ),
        message_columns=("payment_kind", "contract_no", "period"),
    ),
    Check(
        name="pek_in_range",
        suite=PAYROLL,
        field="pek",
        level="error",
        expectation="ExpectColumnValuesToBeBetween",
        description="PEK (prime esas kazanç, earnings subject to SGK premium) is not negative and not implausibly "
        "large (settings: pek_ceiling_tolerance × the month's ceiling, or max_pek_without_limits)",
        kwargs=lambda facts, settings: {"min_value": 0, "max_value": max_pek(facts, settings)},
        message=lambda row, facts, settings: (
            f"pek {row['pek']}: negative" if Decimal(str(row["pek"])) < 0
            else f"pek {row['pek']}: above {max_pek(facts, settings):,} TL, not a plausible PEK (a misread amount?)"
        ),
    ),
    Check(
        name="rate_override_in_range",
        suite=PAYROLL,
        field="rate_override",
        level="error",
        expectation="ExpectColumnValuesToBeBetween",
        description="the person's own rate (Katkı Oranı), when given, is at least the statutory rate and at most 100%",
        kwargs=lambda facts, settings: {"min_value": float(_statutory_rate(facts)), "max_value": 1},
        message=lambda row, facts, settings: (
            f"rate_override {row['rate_override']}: outside {_statutory_rate(facts):.0%}–100% of PEK"
        ),
    ),
    Check(
        name="amount_override_positive",
        suite=PAYROLL,
        field="amount_override",
        level="error",
        expectation="ExpectColumnValuesToBeBetween",
        description="the person's own fixed amount (Katkı Tutarı), when given, is positive",
        kwargs=lambda facts, settings: {"min_value": 0.01},
        message=lambda row, facts, settings: f"amount_override {row['amount_override']}: not a positive amount",
    ),
    Check(
        name="amount_override_below_pek",
        suite=PAYROLL,
        field="amount_override",
        level="error",
        expectation="ExpectColumnPairValuesAToBeGreaterThanB",
        description="the person's own fixed amount is below the line's PEK (a deduction cannot exceed the earnings)",
        kwargs=lambda facts, settings: {
            "column_A": "pek",
            "column_B": "amount_override",
            "or_equal": False,
            "ignore_row_if": "either_value_is_missing",
        },
        message=lambda row, facts, settings: f"amount_override {row['amount_override']}: not below the line's PEK {row['pek']}",
        message_columns=("pek",),
    ),
    Check(
        name="pek_within_limits",
        suite=PAYROLL,
        field="pek",
        level="warning",
        expectation="ExpectPekWithinSgkLimits",
        description="PEK lies within the year's floor and ceiling prorated by SGK days (a bonus line: under the ceiling)",
        kwargs=lambda facts, settings: {
            "floor_daily_kurus": _kurus(facts.pek_daily_limits[0]),
            "ceiling_daily_kurus": _kurus(facts.pek_daily_limits[1]),
        },
        message=lambda row, facts, settings: _pek_limits_text(row, facts),
        message_columns=("sgk_days", "payment_kind"),
        applies=lambda facts: facts.pek_daily_limits is not None,
    ),
    Check(
        name="sgk_days_in_month",
        suite=PAYROLL,
        field="sgk_days",
        level="error",
        expectation="ExpectColumnValuesToBeBetween",
        description="SGK days (SGK Gün, premium days) are 0–30",
        kwargs=lambda facts, settings: {"min_value": 0, "max_value": 30},
        message=lambda row, facts, settings: f"sgk_days {row['sgk_days']}: outside 0–30",
    ),
    Check(
        name="wage_paid_in_period",
        suite=PAYROLL,
        field="wage_paid_on",
        level="error",
        expectation="ExpectWagePaidWithinPeriod",
        description="the wage was paid inside its period or shortly after (setting: wage_paid_grace_days)",
        kwargs=lambda facts, settings: {
            "period_start": facts.period_start.isoformat(),
            "regular_until": (facts.period_end + timedelta(days=settings.wage_paid_grace_days)).isoformat(),
        },
        message=lambda row, facts, settings: (
            f"wage_paid_on {row['wage_paid_on']}: outside {facts.period_start} – "
            f"{facts.period_end + timedelta(days=settings.wage_paid_grace_days)} for a {row['payment_kind']} payment"
            if row["payment_kind"] == "regular"
            else f"wage_paid_on {row['wage_paid_on']}: before period {facts.period}"
        ),
        message_columns=("payment_kind",),
    ),
    Check(
        name="payment_kind_known",
        suite=PAYROLL,
        field="payment_kind",
        level="error",
        expectation="ExpectColumnValuesToBeInSet",
        description="payment kind (Ödeme Türü) is regular or supplementary",
        kwargs=lambda facts, settings: {"value_set": list(PAYMENT_KINDS)},
        message=_not_in("payment_kind", PAYMENT_KINDS),
    ),
    Check(
        name="fund_preference_known",
        suite=PERSONNEL,
        field="fund_preference",
        level="error",
        expectation="ExpectColumnValuesToBeInSet",
        description="the fund choice (Fon Tercihi), when given, is faizli (STANDARD) or faizsiz / katılım (PARTICIPATION)",
        kwargs=lambda facts, settings: {"value_set": list(FUNDS)},
        message=_not_in("fund_preference", FUNDS),
    ),
    Check(
        name="borne_by_known",
        suite=PAYROLL,
        field="borne_by",
        level="error",
        expectation="ExpectColumnValuesToBeInSet",
        description="who bears the deduction (Kesinti Kime Ait), when given, is employee or employer",
        kwargs=lambda facts, settings: {"value_set": list(BEARERS)},
        message=_not_in("borne_by", BEARERS),
    ),
)


def checks_for(facts: RunFacts) -> tuple[Check, ...]:
    """The checks that apply to the run (the PEK limits need the year's SGK parameters)."""
    return tuple(check for check in CHECKS if check.applies(facts))
