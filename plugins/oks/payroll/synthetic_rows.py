"""Employees and their payroll rows, and the defects planted in some of them.

One person gives one regular row and, when paid a bonus, one supplementary row. Rows are plain
dicts keyed by the canonical column names, holding typed values (``str``, ``int``, ``bool``,
``date``, ``Decimal``, ``None``); a cell planted as unreadable holds the raw text a payroll export
would show (``"31.02.2026"`` in a date column). The writers render them per file format.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from oks.payroll.synthetic_identity import (
    BANKS,
    TcknSequence,
    ascii_fold,
    email_for,
    iban,
    iban_check_digits,
    name_lists,
    random_account,
    random_landline,
    random_mobile,
)
from oks.payroll.synthetic_plan import Employer, Period, unknown_contract_no
from oks.rules.eligibility import AGE_LIMIT_YEARS, age_reference_date
from oks.rules.parameters import MONTH_DAYS, ParametersUnavailable, YearlyParameters, available_years, parameters_for

__all__ = [
    "ROW_DEFECTS",
    "EXTRACTION_DEFECTS",
    "DUPLICATE_PERSON",
    "IDENTITY_MISMATCH",
    "DefectEntry",
    "DefectSampler",
    "PersonFactory",
    "wage_scale",
    "planters",
    "plant_identity_mismatch",
]

DUPLICATE_PERSON = "duplicate_person"
ROW_DEFECTS = (
    "tckn_checksum",
    "iban_invalid",
    "mobile_landline",
    "birth_date_missing",
    DUPLICATE_PERSON,
    "pek_out_of_bounds",
    "contract_unknown",
)
"""Defects any payroll source can carry; validation must catch each one."""

EXTRACTION_DEFECTS = ("date_unparseable", "amount_unparseable", "key_missing")
"""Defects only a text export (CSV, XLSX) can carry: a cell that cannot be read as its type."""

IDENTITY_MISMATCH = "identity_mismatch"
"""Not a validation defect: the row is valid, but its name or birth date differs from the
population register, which only the insurer (DES) can notice."""

@dataclass(frozen=True)
class DefectEntry:
    """One line of ``defects.csv``: the data row (1-based) and the field that carries the defect."""

    row_no: int
    payroll_id: str
    defect: str
    field: str
    detail: str


def wage_scale(period: Period) -> tuple[YearlyParameters, int | None]:
    """The SGK figures the generator draws wages from, and the year they were *assumed* from.

    A period whose year is on file uses its own figures (``None``: nothing assumed). A year not yet
    published still gets a plausible payroll — wages scaled on the nearest year on file, said so in the
    manifest — because a demo must run on any date. This is test data only: validation never assumes;
    it reports the PEK-limit check as not performed for such a period.
    """
    try:
        return parameters_for(period.start), None
    except ParametersUnavailable:
        nearest = min(available_years(), key=lambda year: (abs(year - period.year), -year))
        return parameters_for(date(nearest, period.month, 1)), nearest


# --- people --------------------------------------------------------------------------------------


def _to_money(kurus: int) -> Decimal:
    return Decimal(kurus).scaleb(-2)


def _years_after(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February in a common year
        return date(d.year + years, 3, 1)


class PersonFactory:
    """Draws one employee at a time from ``rng``; shares here are of all employees."""

    HIRED_IN_PERIOD = 0.05
    LEFT_IN_PERIOD = 0.03
    ON_LEAVE = 0.04  # unpaid leave or sick report: fewer SGK days in a month employed throughout
    NEAR_AGE_LIMIT = 0.12  # born within a month of the 45-year boundary
    BLUE_CARD = 0.01
    FOREIGN = 0.025
    SELF_EMPLOYED_PARTNER = 0.007  # 4/b partners on a private payroll
    EMAIL = 0.4

    def __init__(self, rng: random.Random, period: Period) -> None:
        self._rng = rng
        self.period = period
        self.parameters, self.assumed_from = wage_scale(period)
        # Kuruş bounds for 0…30 SGK days, from the yearly parameters.
        self.bounds = [tuple(int(x * 100) for x in self.parameters.pek_bounds(days)) for days in range(MONTH_DAYS + 1)]
        reference = age_reference_date(period.start)
        self.age_limit_birth_date = date(reference.year - AGE_LIMIT_YEARS, reference.month, reference.day)
        """Born on or before this day: 45 completed on the reference day, so not enrolled automatically."""
        self._tckns = TcknSequence(rng, foreign=False)
        self._foreign_tckns = TcknSequence(rng, foreign=True)
        self._names = name_lists()
        self._bank_codes = tuple(code for code, _, _ in BANKS)
        self._bank_weights = tuple(weight for _, _, weight in BANKS)

    # Each helper draws one attribute; together they keep a person self-consistent (adult at
    # hire, days matching hire and exit, PEK within the bounds of those days).

    def _birth_date(self) -> date:
        r = self._rng
        if r.random() < self.NEAR_AGE_LIMIT:
            offset = r.choice((-1, 0, 1)) if r.random() < 0.35 else r.randint(-30, 30)
            return self.age_limit_birth_date + timedelta(days=offset)
        # 18 to 64 years old at the start of the period (18·366 days is 18 years in any calendar).
        return self.period.start - timedelta(days=r.randrange(18 * 366, 64 * 365))

    def _employment(self, birth_date: date) -> tuple[date, date | None, int]:
        r, period = self._rng, self.period
        if r.random() < self.HIRED_IN_PERIOD:
            hire = period.start + timedelta(days=r.randrange(1, period.days))
        else:
            earliest = max(_years_after(birth_date, 18), date(1995, 1, 1))
            latest = period.start - timedelta(days=1)
            tenure = int(r.expovariate(1 / (6 * 365)))
            hire = max(earliest, latest - timedelta(days=tenure))
        exit_ = None
        if r.random() < self.LEFT_IN_PERIOD:
            first = max(hire, period.start)
            exit_ = date.fromordinal(r.randrange(first.toordinal(), period.end.toordinal() + 1))
        first_day = hire.day if hire >= period.start else 1
        last_day = exit_.day if exit_ else period.days
        if first_day == 1 and last_day == period.days:
            days = MONTH_DAYS  # SGK counts a whole month as 30 days, February included
            if r.random() < self.ON_LEAVE:
                days = r.randint(5, MONTH_DAYS - 1)
        else:
            days = min(MONTH_DAYS, last_day - first_day + 1)
        return hire, exit_, days

    def _monthly_gross(self) -> int:
        """Full-month gross in kuruş: many at the minimum wage (the PEK floor), a few above the ceiling."""
        r = self._rng
        floor, ceiling = self.bounds[MONTH_DAYS]
        band = r.random()
        if band < 0.35:
            return floor
        if band < 0.65:
            return r.randrange(floor, floor * 16 // 10)
        if band < 0.85:
            return r.randrange(floor * 16 // 10, floor * 3)
        if band < 0.95:
            return r.randrange(floor * 3, floor * 6)
        if band < 0.99:
            return r.randrange(floor * 6, ceiling)
        return r.randrange(ceiling, ceiling * 2)

    def _pek(self, days: int, *, leave_room_for_bonus: bool) -> int:
        low, high = self.bounds[days]
        if leave_room_for_bonus:
            high -= low  # the bonus, at least the floor itself, must fit under the month's ceiling
        prorated = (self._monthly_gross() * days * 2 + MONTH_DAYS) // (2 * MONTH_DAYS)  # half up
        return min(max(prorated, low), high)

    def _bonus(self, days: int, regular: int) -> int:
        low, high = self.bounds[days]
        target = regular * self._rng.choice((1, 2, 2, 4)) // 2
        return min(max(target, low), high - regular)

    def person(self, employer: Employer, payroll_id: str, *, bonus: bool) -> tuple[dict, dict | None, tuple]:
        """The person's regular row, the supplementary (bonus) row or ``None``, and their true
        identity for the population register: (tckn, first_name, last_name, birth_date)."""
        r, names = self._rng, self._names
        draw = r.random()
        citizenship = "FOREIGN" if draw < self.FOREIGN else "BLUE_CARD" if draw < self.FOREIGN + self.BLUE_CARD else "TR"
        if citizenship == "FOREIGN":
            tckn = next(self._foreign_tckns)
            first_name, last_name = r.choice(names.foreign_first), r.choice(names.foreign_last)
        else:
            tckn = next(self._tckns)
            first_name = r.choice(names.female if r.random() < 0.45 else names.male)
            last_name = r.choice(names.last)
        if citizenship == "FOREIGN":
            sgk_status = "4a"
        elif employer.sector != "private":
            sgk_status = "4c" if r.random() < 0.6 else "4a"
        else:
            sgk_status = "4b" if r.random() < self.SELF_EMPLOYED_PARTNER else "4a"
        birth_date = self._birth_date()
        hire_date, exit_date, days = self._employment(birth_date)
        contract = r.choices(employer.contracts, cum_weights=employer.contract_cum_weights)[0]
        pek = self._pek(days, leave_room_for_bonus=bonus)

        rate_override = amount_override = borne_by = None
        override = r.random()
        if override < 0.03:
            rate_override = Decimal(r.choice(("0.04", "0.05", "0.06", "0.10")))
        elif override < 0.04:
            amount_override = Decimal(r.choice(("500.00", "1000.00", "1500.00", "2500.00")))
            if amount_override >= _to_money(pek):  # a deduction never exceeds the earnings: no override
                amount_override = None
        if r.random() < 0.02:
            borne_by = "employer" if contract.borne_by == "employee" else "employee"
        over_age_limit = birth_date <= self.age_limit_birth_date
        certificate = r.random() < (0.2 if over_age_limit else 0.03)
        voluntary = over_age_limit and not certificate and r.random() < 0.1
        bank_code = r.choices(self._bank_codes, self._bank_weights)[0]

        regular = {
            "employer_vkn": employer.vkn,
            "employer_name": employer.name,
            "employer_sector": employer.sector,
            "employer_headcount": employer.headcount,
            "workplace_sgk_no": employer.workplace_sgk_no,
            "payroll_id": payroll_id,
            "tckn": tckn,
            "first_name": first_name,
            "last_name": last_name,
            "birth_date": birth_date,
            "citizenship": citizenship,
            "sgk_status": sgk_status,
            "hire_date": hire_date,
            "exit_date": exit_date,
            "iban": iban(bank_code, random_account(r)),
            "mobile": random_mobile(r),
            "email": email_for(first_name, last_name, r) if r.random() < self.EMAIL else None,
            "has_oks_certificate": certificate,
            "voluntary": voluntary,
            "contract_no": contract.contract_no,
            "rate_override": rate_override,
            "amount_override": amount_override,
            "borne_by": borne_by,
            "period": self.period.label,
            "payment_kind": "regular",
            "pek": _to_money(pek),
            "sgk_days": days,
            "wage_paid_on": contract.wage_paid_on,
            "fund_preference": fund_preference_for(tckn),
            "payroll_deduction": None,  # payroll's own computed deduction: not generated (the run computes it)
        }
        supplementary = None
        if bonus:
            supplementary = dict(regular)
            supplementary["payment_kind"] = "supplementary"
            supplementary["pek"] = _to_money(self._bonus(days, pek))
            supplementary["wage_paid_on"] = employer.bonus_paid_on
        return regular, supplementary, (tckn, first_name, last_name, birth_date)


# --- which rows carry a defect -------------------------------------------------------------------


class DefectSampler:
    """Decides row by row which rows carry which defect, hitting exact totals in O(1) memory.

    Sequential selection sampling (Knuth's Algorithm S): a row is picked with probability
    *still to pick / still eligible*, which yields exactly the planned count, spread uniformly.
    Three kinds of pick share the stream and must not overlap, so each sees its own eligible set:

    - identity mismatches: people without a bonus row (so one person is one row);
    - duplicate sources (the row a ``duplicate_person`` copy repeats): regular rows of people
      without a mismatch;
    - in-place defects: every row except the mismatches and duplicate sources still ahead.

    Call :meth:`mismatch` then :meth:`regular` for each person, then :meth:`supplementary` for
    their bonus row if any.
    """

    def __init__(
        self,
        rng: random.Random,
        *,
        rows: int,
        persons: int,
        single_row_persons: int,
        counts: dict[str, int],
        mismatches: int,
    ) -> None:
        self._rng = rng
        self._rows = rows
        self._persons = persons
        self._single_row_persons = single_row_persons
        self._mismatches = mismatches
        self._duplicates = counts.get(DUPLICATE_PERSON, 0)
        self._in_place = {kind: n for kind, n in counts.items() if kind != DUPLICATE_PERSON and n}
        self._in_place_total = sum(self._in_place.values())
        if not (
            mismatches <= single_row_persons
            and self._duplicates <= persons - mismatches
            and self._in_place_total <= rows - self._duplicates - mismatches
        ):
            raise ValueError("more defects and mismatches planned than there are rows to carry them")

    def mismatch(self, *, single_row: bool) -> bool:
        if not single_row:
            return False
        picked = self._rng.randrange(self._single_row_persons) < self._mismatches
        self._single_row_persons -= 1
        self._mismatches -= picked
        return picked

    def regular(self, *, mismatch: bool) -> str | None:
        """``duplicate_person`` (a copy follows this row), an in-place defect kind, or ``None``."""
        try:
            if mismatch:
                return None
            if self._duplicates and self._rng.randrange(self._persons - self._mismatches) < self._duplicates:
                self._duplicates -= 1
                return DUPLICATE_PERSON
            return self._in_place_kind()
        finally:
            self._persons -= 1
            self._rows -= 1

    def supplementary(self) -> str | None:
        try:
            return self._in_place_kind()
        finally:
            self._rows -= 1

    def _in_place_kind(self) -> str | None:
        if not self._in_place_total:
            return None
        pick = self._rng.randrange(self._rows - self._duplicates - self._mismatches)
        if pick >= self._in_place_total:
            return None
        for kind, left in self._in_place.items():  # noqa: B007 - the kind the loop stops at is the one picked
            if pick < left:
                break
            pick -= left
        self._in_place[kind] -= 1
        self._in_place_total -= 1
        return kind


# --- planting ------------------------------------------------------------------------------------


def _wrong_tckn(rng: random.Random, row: dict) -> tuple[str, str]:
    tckn = row["tckn"]
    wrong = (int(tckn[-1]) + rng.randrange(1, 10)) % 10
    row["tckn"] = tckn[:-1] + str(wrong)
    return "tckn", "last check digit"


def _wrong_iban(rng: random.Random, row: dict) -> tuple[str, str]:
    good = row["iban"]
    variant = rng.choice(("checksum", "country", "reserved_digit"))
    if variant == "checksum":
        right = int(good[2:4])
        wrong = rng.choice([n for n in range(2, 99) if n != right])
        row["iban"] = f"{good[:2]}{wrong:02d}{good[4:]}"
    elif variant == "country":
        # A German account (an expatriate's home bank): well-formed, but not Turkish.
        bban = f"{rng.randrange(10**7, 10**8)}{rng.randrange(10**10):010d}"
        row["iban"] = "DE" + iban_check_digits("DE", bban) + bban
    else:
        row["iban"] = iban(good[4:9], good[10:], reserved_digit=str(rng.randrange(1, 10)))
    return "iban", variant


def _landline(rng: random.Random, row: dict) -> tuple[str, str]:
    row["mobile"] = random_landline(rng)
    return "mobile", "landline"


def _no_birth_date(rng: random.Random, row: dict) -> tuple[str, str]:
    row["birth_date"] = None
    return "birth_date", "empty"


def _contract_unknown(rng: random.Random, row: dict) -> tuple[str, str]:
    insurer = {"AG": "AGESA", "AH": "ANADOLU", "FB": "FIBA"}[row["contract_no"][:2]]
    row["contract_no"] = unknown_contract_no(insurer, rng)
    return "contract_no", "not in the contract master"


def _unparseable_date(rng: random.Random, row: dict) -> tuple[str, str]:
    field = rng.choice(("birth_date", "hire_date", "wage_paid_on"))
    year = row[field].year
    row[field] = rng.choice((f"31.02.{year}", f"31.04.{year}", f"30.02.{year}", "yok", "-", "00.00.0000"))
    return field, "not a date"


def _unparseable_amount(rng: random.Random, row: dict) -> tuple[str, str]:
    digits = f"{row['pek']:.2f}".replace(".", "")
    # Groups of two with dots then one decimal, as a mistyped cell shows it: 12.34.56,7.
    grouped = ".".join(digits[i : i + 2] for i in range(0, len(digits) - 1, 2))
    row["pek"] = rng.choice((f"{grouped},{digits[-1]}", "#DEĞER!"))
    return "pek", "not an amount"


def _key_missing(rng: random.Random, row: dict) -> tuple[str, str]:
    field = rng.choice(("tckn", "payroll_id", "contract_no"))
    row[field] = None
    return field, "empty"


class _PekOutOfBounds:
    def __init__(self, bounds: list[tuple[int, int]]) -> None:
        self._bounds = bounds

    def __call__(self, rng: random.Random, row: dict) -> tuple[str, str]:
        low, high = self._bounds[row["sgk_days"]]
        # A bonus alone may be small, so only a bonus above the whole month's ceiling is surely wrong.
        if row["payment_kind"] == "supplementary" or rng.random() < 0.5:
            row["pek"] = _to_money(high + rng.randrange(1, high // 4))
            return "pek", "above the ceiling"
        row["pek"] = _to_money(low - rng.randrange(1, low // 2))
        return "pek", "below the floor"


def planters(bounds: list[tuple[int, int]]) -> dict:
    """Defect kind → function(rng, row) that breaks the row in place and returns (field, detail)."""
    return {
        "tckn_checksum": _wrong_tckn,
        "iban_invalid": _wrong_iban,
        "mobile_landline": _landline,
        "birth_date_missing": _no_birth_date,
        "pek_out_of_bounds": _PekOutOfBounds(bounds),
        "contract_unknown": _contract_unknown,
        "date_unparseable": _unparseable_date,
        "amount_unparseable": _unparseable_amount,
        "key_missing": _key_missing,
    }


def _folded(ch: str) -> str:
    return ascii_fold(ch).lower()


def _typo(rng: random.Random, name: str) -> str:
    """A misspelling that survives case and Turkish-letter folding (a letter dropped, doubled or
    two letters swapped): MERNİS-style comparisons must still see a different name."""
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    i = rng.choice(letters[1:] or letters)
    how = rng.choice(("drop", "double", "swap"))
    if how == "swap":
        j = next((k for k in letters if k > i and _folded(name[k]) != _folded(name[i])), None)
        if j == i + 1:
            return name[:i] + name[j] + name[i] + name[j + 1 :]
        how = "double"
    if how == "drop" and len(letters) > 2:
        return name[:i] + name[i + 1 :]
    return name[:i] + name[i] + name[i:]


def plant_identity_mismatch(rng: random.Random, row: dict) -> tuple[str, str]:
    """Make the payroll's identity differ from the register's in one field; returns (field, detail)."""
    field = rng.choice(("first_name", "last_name", "birth_date", "birth_date"))
    if field == "birth_date":
        shift = rng.randint(1, 15)
        born = row["birth_date"] + timedelta(days=shift)
        if _years_after(born, 18) > row["hire_date"]:
            shift = -shift  # stay an adult at hire: only the register comparison may fail
            born = row["birth_date"] + timedelta(days=shift)
        row["birth_date"] = born
        return field, f"{shift:+d} days"
    row[field] = _typo(rng, row[field])
    return field, "typo"


def fund_preference_for(tckn: str) -> str | None:
    """A person's fund choice as payroll writes it: a tenth ask for the participation fund, a tenth write
    the standard one out, the rest leave it to the contract. Drawn from the TCKN, not the random stream,
    so that every other draw of a seeded payroll stays what it was."""
    pick = int(tckn[2:5]) % 10
    return "Faizsiz" if pick == 0 else "Faizli" if pick == 1 else None
