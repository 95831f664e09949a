"""The master data of a synthetic payroll bureau: employers, their insurer contracts, pay days.

Small by construction (one object per employer and contract, never per employee), so it is planned
up front; the employees are streamed later by :mod:`oks.payroll.synthetic_rows`.
"""

from __future__ import annotations

import calendar as _calendar
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate

from oks.payroll.synthetic_identity import BANK_NAMES, iban, name_lists, random_account, random_vkn
from oks.rules.calendar import holiday_name, is_business_day

__all__ = ["Period", "Contract", "Employer", "INSURERS", "plan_employers", "unknown_contract_no", "apportion"]

INSURERS = ("AGESA", "ANADOLU", "FIBA")
_INSURER_WEIGHTS = (40, 35, 25)
_CONTRACT_PREFIX = {"AGESA": "AG", "ANADOLU": "AH", "FIBA": "FB"}
# Issued contract numbers stay below this; numbers from it up are never issued, so a row that cites
# one refers to a contract the master does not hold.
_UNKNOWN_FROM = 90_000_000
_CONTRACT_BLOCK = 1000
_COLLECTION_BANKS = ("00010", "00015", "00046", "00062", "00064", "00067")

PUBLIC_SHARE = 0.15  # of employers: central or local government bodies (their staff are 4/c or 4/a)


@dataclass(frozen=True)
class Period:
    """A pay period (``YYYY-MM``) and the days around it that the generator needs."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"period must be YYYY-MM, e.g. 2026-10 (got {text!r})")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def days(self) -> int:
        return _calendar.monthrange(self.year, self.month)[1]

    @property
    def end(self) -> date:
        return date(self.year, self.month, self.days)

    @property
    def next_start(self) -> date:
        return self.end + timedelta(days=1)


@dataclass(frozen=True)
class Contract:
    """One insurer contract; field names are :data:`oks.payroll.columns.CONTRACT_COLUMNS`' names."""

    contract_no: str
    employer_vkn: str
    insurer: str
    starts_on: date
    ends_on: date | None
    rate: Decimal | None
    fixed_amount: Decimal | None
    borne_by: str
    fund_kind: str
    collection_iban: str
    bank: str
    branch: str
    wage_paid_on: date  # this period's pay day for the staff on this contract (not a master field)
    channel: str | None = None  # empty in the master: the insurer's channel (DES for the DES insurers)


@dataclass(frozen=True)
class Employer:
    index: int
    vkn: str
    name: str
    sector: str
    headcount: int
    workplace_sgk_no: str
    size: int  # people on this period's payroll
    bonus_count: int  # of them, people also paid a bonus (a supplementary row)
    contracts: tuple[Contract, ...]
    contract_cum_weights: tuple[float, ...]
    bonus_paid_on: date


def apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; ties to the earlier one)."""
    scale = sum(weights)
    quotas = [total * w / scale for w in weights]
    shares = [int(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


# --- pay days ------------------------------------------------------------------------------------


def _on_or_before_business_day(d: date) -> date:
    # Payroll pays early rather than late when the usual day is a weekend or holiday.
    while not is_business_day(d):
        d -= timedelta(days=1)
    return d


def _eves_of_holidays(period: Period) -> list[date]:
    """Business days in the pay window whose next day is an official holiday (not a mere weekend)."""
    eves = []
    d = period.start + timedelta(days=14)
    while d <= period.next_start + timedelta(days=14):
        following = d + timedelta(days=1)
        if is_business_day(d) and not is_business_day(following) and holiday_name(following):
            eves.append(d)
        d += timedelta(days=1)
    return eves


def _wage_day(rng: random.Random, period: Period) -> date:
    """A pay day as employers choose them: month end, a fixed day of this or next month, or the
    eve of a holiday; moved back to a business day."""
    rule = rng.choices(("month_end", "period_day", "next_month_day", "holiday_eve"), (30, 15, 40, 15))[0]
    if rule == "holiday_eve":
        eves = _eves_of_holidays(period)
        if eves:
            return rng.choice(eves)
        rule = "month_end"
    if rule == "period_day":
        return _on_or_before_business_day(period.start.replace(day=min(rng.choice((25, 28)), period.days)))
    if rule == "next_month_day":
        return _on_or_before_business_day(period.next_start.replace(day=rng.choice((1, 3, 5, 7, 10, 15))))
    return _on_or_before_business_day(period.end)


# --- contracts -----------------------------------------------------------------------------------


def _contract_no(insurer: str, index: int, rng: random.Random) -> str:
    number = 10_000_000 + index * _CONTRACT_BLOCK + rng.randrange(_CONTRACT_BLOCK)
    if number >= _UNKNOWN_FROM:
        raise OverflowError("too many contracts for the synthetic numbering")
    return f"{_CONTRACT_PREFIX[insurer]}{number}"


def unknown_contract_no(insurer: str, rng: random.Random) -> str:
    """A well-formed contract number that no contract in the master carries."""
    return f"{_CONTRACT_PREFIX[insurer]}{rng.randrange(_UNKNOWN_FROM, 100_000_000)}"


def _contract(rng: random.Random, *, vkn: str, index: int, period: Period) -> Contract:
    names = name_lists()
    insurer = rng.choices(INSURERS, _INSURER_WEIGHTS)[0]
    earliest = date(2017, 1, 1).toordinal()
    latest = (period.start - timedelta(days=31)).toordinal()
    terms = rng.random()
    rate = fixed = None
    if terms < 0.10:
        rate = Decimal(rng.choice(("0.04", "0.05")))
    elif terms < 0.13:
        fixed = Decimal(rng.choice(("750.00", "1000.00", "1500.00")))
    bank_code = rng.choice(_COLLECTION_BANKS)
    branch = rng.choice(("Kurumsal Şube", "Merkez Şube", f"{rng.choice(names.districts)} Ticari Şube"))
    return Contract(
        contract_no=_contract_no(insurer, index, rng),
        employer_vkn=vkn,
        insurer=insurer,
        starts_on=date.fromordinal(rng.randrange(earliest, max(latest, earliest) + 1)),
        ends_on=None,
        rate=rate,
        fixed_amount=fixed,
        borne_by="employer" if rng.random() < 0.15 else "employee",
        fund_kind="STANDARD",
        collection_iban=iban(bank_code, random_account(rng)),
        bank=BANK_NAMES[bank_code],
        branch=branch,
        wage_paid_on=_wage_day(rng, period),
    )


# --- employers -----------------------------------------------------------------------------------


def _employer_name(rng: random.Random, sector: str, taken: set[str]) -> str:
    names = name_lists()
    for _ in range(20):
        if sector == "central_government":
            name = f"{rng.choice(names.cities)} İl {rng.choice(names.directorates)} Müdürlüğü"
        elif sector == "local_government":
            place = rng.choice(names.districts + names.cities)
            name = f"{place} Belediyesi"
        else:
            word = rng.choice(names.employer_words + names.last)
            name = f"{word} {rng.choice(names.activities)} {rng.choice(names.legal_forms)}"
        if name not in taken:
            break
    else:  # a large bureau exhausts the word combinations: number the branch
        name = f"{name} ({len(taken) + 1})"
    taken.add(name)
    return name


def _workplace_sgk_no(rng: random.Random) -> str:
    # 26 digits: status, branch of activity, unit codes, sequence, province, district, check, agent.
    return (
        f"2{rng.randrange(1000, 10000)}0101{rng.randrange(10**7):07d}"
        f"{rng.randrange(1, 82):03d}{rng.randrange(1, 40):02d}{rng.randrange(100):02d}000"
    )


def _sectors(rng: random.Random, count: int) -> list[str]:
    public = round(count * PUBLIC_SHARE)
    chosen = rng.sample(range(count), public)
    sectors = ["private"] * count
    for n, i in enumerate(chosen):
        sectors[i] = "central_government" if n % 2 == 0 else "local_government"
    return sectors


def _headcount(rng: random.Random, size: int, sector: str) -> int:
    """The employer's SGK 4/a headcount: near this payroll's size for a private employer (last
    month's document, before this month's hires and exits); a public body's civil servants (4/c)
    are not in it."""
    if sector != "private":
        return round(size * 0.4)
    jitter = max(1, size // 20)
    return max(0, size + rng.randint(-jitter, jitter))


WAGE_DAY_GRACE = timedelta(days=15)
"""How late a regular wage may be paid after its period and still pass validation (its default)."""


def _check_wage_days(wage_days: Sequence[date], period: Period) -> None:
    latest = period.end + WAGE_DAY_GRACE
    for day in wage_days:
        if not period.start <= day <= latest:
            raise ValueError(f"wage day {day} is outside {period.start} – {latest}, the days validation accepts for {period.label}")


def plan_employers(
    rng: random.Random, *, employers: int, employees: int, period: Period, wage_days: Sequence[date] = ()
) -> list[Employer]:
    """``employers`` employers sharing ``employees`` people (each at least one), ordered by VKN —
    the order rows are written and the extract query sorts in. ``wage_days``, if given, are the
    contracts' pay days in turn (the draw still happens, so everything else stays the same)."""
    _check_wage_days(wage_days, period)
    if employers < 1:
        raise ValueError("employers must be at least 1")
    if employees < employers:
        raise ValueError(f"employees ({employees}) must be at least the number of employers ({employers})")
    vkns: set[str] = set()
    while len(vkns) < employers:
        vkns.add(random_vkn(rng))
    # A bureau's clients are mostly small firms and a few large ones (Pareto sizes).
    sizes = [1 + extra for extra in apportion(employees - employers, [rng.paretovariate(1.16) for _ in range(employers)])]
    sectors = _sectors(rng, employers)
    taken: set[str] = set()
    planned = []
    contract_index = 0
    for index, (vkn, size, sector) in enumerate(zip(sorted(vkns), sizes, sectors, strict=True)):
        contract_count = min(size, rng.choices((1, 2, 3), (60, 30, 10))[0])
        contracts = []
        for _ in range(contract_count):
            contract = _contract(rng, vkn=vkn, index=contract_index, period=period)
            if wage_days:
                contract = replace(contract, wage_paid_on=wage_days[contract_index % len(wage_days)])
            contracts.append(contract)
            contract_index += 1
        pays_bonus = rng.random() < 0.5
        bonus_paid_on = (
            contracts[0].wage_paid_on
            if rng.random() < 0.5
            else _on_or_before_business_day(period.start.replace(day=rng.choice((15, 20))))
        )
        planned.append(
            Employer(
                index=index,
                vkn=vkn,
                name=_employer_name(rng, sector, taken),
                sector=sector,
                headcount=_headcount(rng, size, sector),
                workplace_sgk_no=_workplace_sgk_no(rng),
                size=size,
                bonus_count=round(size * rng.uniform(0.1, 0.6)) if pays_bonus else 0,
                contracts=tuple(contracts),
                contract_cum_weights=tuple(accumulate(rng.uniform(1, 3) for _ in contracts)),
                bonus_paid_on=bonus_paid_on,
            )
        )
    return planned
