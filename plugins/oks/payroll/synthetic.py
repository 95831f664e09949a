"""The synthetic payroll generator behind ``oks demo-data``.

Deterministic Turkish payroll for a payroll bureau: N employers sharing M employees, one pay
period, in the shape a real source has (a payroll database, a Turkish CSV export or an Excel
workbook), with a known share of rows carrying exactly one known defect. Besides the payroll it
writes:

- ``identity_register.csv`` — each person's true identity, the population register the DES
  simulator uses to answer IDENTITY_MISMATCH;
- ``defects.csv`` — every planted defect: ``row_no`` (1-based data row in the payroll's order),
  ``payroll_id`` (as generated, even when the defect emptied the cell), ``defect``, ``field``,
  ``detail``; plus the people whose payroll identity deliberately differs from the register
  (``identity_mismatch``: valid rows that only the insurer can reject);
- ``manifest.json`` — seed, period, counts per defect, rows, employers, contracts.

Rows that are not in ``defects.csv`` are clean: every identifier valid, PEK within the bounds of
its SGK days, contract in the master, no duplicate person on a contract.

Memory is bounded by ``chunk_size`` (plus one object per employer and contract): people are
drawn one at a time, defects are chosen by sequential sampling with exact totals, and a
duplicate repeats the row just written. The same arguments give byte-identical files, whatever
the chunk size.

Python API::

    from oks.payroll.synthetic import generate
    manifest = generate("out/", employers=20, employees=5000, period="2026-10", seed=7, fmt="csv")
"""

from __future__ import annotations

import contextlib
import json
import math
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType

from oks.payroll.synthetic_plan import INSURERS, Contract, Employer, Period, plan_employers
from oks.payroll.synthetic_rows import (
    DUPLICATE_PERSON,
    EXTRACTION_DEFECTS,
    IDENTITY_MISMATCH,
    ROW_DEFECTS,
    DefectEntry,
    DefectSampler,
    PersonFactory,
    plant_identity_mismatch,
    planters,
    wage_scale,
)

__all__ = [
    "FORMATS",
    "ENCODINGS",
    "ROW_DEFECTS",
    "EXTRACTION_DEFECTS",
    "IDENTITY_MISMATCH",
    "DEFECT_KINDS",
    "Chunk",
    "Manifest",
    "SyntheticPayroll",
    "generate",
]

FORMATS = ("sqlite", "csv", "xlsx")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1254")
DEFECT_KINDS = ROW_DEFECTS + EXTRACTION_DEFECTS
MAX_DEFECT_SHARE = 0.5
MAX_IDENTITY_MISMATCH_SHARE = 0.2

PAYROLL_FILES = {"sqlite": "payroll.sqlite", "csv": "payroll.csv", "xlsx": "payroll.xlsx"}
CONTRACTS_CSV = "contracts.csv"
REGISTER_FILE = "identity_register.csv"
DEFECTS_FILE = "defects.csv"
MANIFEST_FILE = "manifest.json"


def _rng(seed: int, stream: str) -> random.Random:
    # Separate streams, so that e.g. a different defect share leaves the people unchanged.
    # String seeds are hashed with SHA-512: stable across processes and Python builds.
    return random.Random(f"oks-demo-data:{seed}:{stream}")


def share_of(share: float, count: int) -> int:
    """``share`` of ``count`` rounded half up (Python's round() would round half to even)."""
    return math.floor(share * count + 0.5)


def _spread(total: int, order: tuple[str, ...]) -> dict[str, int]:
    base, extra = divmod(total, len(order))
    return {kind: base + (i < extra) for i, kind in enumerate(order)}


def _defect_counts(share: float, base_rows: int, kinds: tuple[str, ...], rng: random.Random) -> dict[str, int]:
    """Rows per defect kind: ``share`` of all rows, spread evenly over the kinds.

    A ``duplicate_person`` adds a row (the copy), so the total is found as a fixed point of
    *total = share × (base rows + duplicates(total))*; it only grows and is bounded, so it settles.
    """
    order = tuple(rng.sample(kinds, len(kinds)))  # which kinds get the remainder
    total = share_of(share, base_rows)
    while True:
        counts = _spread(total, order)
        settled = share_of(share, base_rows + counts[DUPLICATE_PERSON])
        if settled == total:
            return {kind: counts[kind] for kind in kinds}
        total = settled


@dataclass
class Chunk:
    """Up to about ``chunk_size`` rows in payroll order, with their defects and the people drawn."""

    rows: list[dict]
    defects: list[DefectEntry]
    people: list[tuple]  # (tckn, first_name, last_name, birth_date): the register's truth


class SyntheticPayroll:
    """The plan (employers, contracts, defect totals) and a stream of chunks of rows.

    ``extraction_defects`` adds the defects only a text export can carry (unreadable dates and
    amounts, empty key cells); a typed database cannot hold them. ``wage_days`` sets the contracts'
    pay days (in turn, contract by contract) instead of drawing them — a weekend, a bayram, New Year's
    Eve — as long as validation would accept them for the period.
    """

    def __init__(
        self,
        *,
        employers: int,
        employees: int,
        period: str,
        seed: int,
        defect_share: float = 0.03,
        identity_mismatch_share: float = 0.005,
        extraction_defects: bool = False,
        wage_days: Sequence[date] = (),
    ) -> None:
        if not 0 <= defect_share <= MAX_DEFECT_SHARE:
            raise ValueError(f"defect_share must be between 0 and {MAX_DEFECT_SHARE} (got {defect_share})")
        if not 0 <= identity_mismatch_share <= MAX_IDENTITY_MISMATCH_SHARE:
            raise ValueError(
                f"identity_mismatch_share must be between 0 and {MAX_IDENTITY_MISMATCH_SHARE} (got {identity_mismatch_share})"
            )
        self.period = Period.parse(period)
        self.wage_scale_assumed_from = wage_scale(self.period)[1]
        self.seed = seed
        self.employees = employees
        self.defect_share = defect_share
        self.identity_mismatch_share = identity_mismatch_share
        self.employers: tuple[Employer, ...] = tuple(
            plan_employers(_rng(seed, "plan"), employers=employers, employees=employees, period=self.period, wage_days=wage_days)
        )
        self.contracts: tuple[Contract, ...] = tuple(c for e in self.employers for c in e.contracts)
        self.kinds = ROW_DEFECTS + (EXTRACTION_DEFECTS if extraction_defects else ())
        self.supplementary_rows = sum(e.bonus_count for e in self.employers)
        self.base_rows = employees + self.supplementary_rows
        self.defect_counts = _defect_counts(defect_share, self.base_rows, self.kinds, _rng(seed, "defect-plan"))
        self.mismatches = min(share_of(identity_mismatch_share, employees), employees - self.supplementary_rows)
        self.rows = self.base_rows + self.defect_counts[DUPLICATE_PERSON]

    def chunks(self, chunk_size: int = 10_000) -> Iterator[Chunk]:
        """The payroll in row order, about ``chunk_size`` rows at a time (a person's rows stay together)."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        stream = _RowStream(self)
        chunk = Chunk([], [], [])
        for employer in self.employers:
            for rows, defects, identity in stream.people(employer):
                chunk.rows.extend(rows)
                chunk.defects.extend(defects)
                chunk.people.append(identity)
                if len(chunk.rows) >= chunk_size:
                    yield chunk
                    chunk = Chunk([], [], [])
        if chunk.rows:
            yield chunk
        if stream.row_no != self.rows:  # pragma: no cover - a broken invariant, not an input problem
            raise AssertionError(f"planned {self.rows} rows, generated {stream.row_no}")


class _RowStream:
    """Draws the people in order, numbers their rows, and plants what the sampler picks."""

    def __init__(self, payroll: SyntheticPayroll) -> None:
        self._people_rng = _rng(payroll.seed, "people")
        self._defect_rng = _rng(payroll.seed, "defects")
        self._factory = PersonFactory(self._people_rng, payroll.period)
        self._plant = planters(self._factory.bounds)
        self._sampler = DefectSampler(
            self._defect_rng,
            rows=payroll.base_rows,
            persons=payroll.employees,
            single_row_persons=payroll.employees - payroll.supplementary_rows,
            counts=payroll.defect_counts,
            mismatches=payroll.mismatches,
        )
        self.row_no = 0

    def people(self, employer: Employer) -> Iterator[tuple[list[dict], list[DefectEntry], tuple]]:
        """Per person of ``employer``: their rows, the defects planted in them, their true identity."""
        width = max(5, len(str(employer.size)))  # fixed width: payroll ids sort as they were written
        bonuses_left = employer.bonus_count
        for seq in range(employer.size):
            # Exactly bonus_count of the employer's people get a bonus (selection sampling).
            bonus = self._people_rng.randrange(employer.size - seq) < bonuses_left
            bonuses_left -= bonus
            yield self._person(employer, f"{seq + 1:0{width}d}", bonus)

    def _person(self, employer: Employer, payroll_id: str, bonus: bool):
        regular, supplementary, identity = self._factory.person(employer, payroll_id, bonus=bonus)
        rows: list[dict] = []
        defects: list[DefectEntry] = []

        def add(row: dict, defect: str | None = None, planted: tuple[str, str] | None = None) -> None:
            self.row_no += 1
            rows.append(row)
            if defect:
                defects.append(DefectEntry(self.row_no, payroll_id, defect, *planted))

        mismatch = self._sampler.mismatch(single_row=not bonus)
        kind = self._sampler.regular(mismatch=mismatch)
        if mismatch:
            add(regular, IDENTITY_MISMATCH, plant_identity_mismatch(self._defect_rng, regular))
        elif kind == DUPLICATE_PERSON:
            add(regular)
            # The same person exported twice: an exact copy right after the row it repeats.
            add(dict(regular), DUPLICATE_PERSON, ("tckn", f"repeats row {self.row_no}"))
        elif kind:
            add(regular, kind, self._plant[kind](self._defect_rng, regular))
        else:
            add(regular)
        if supplementary is not None:
            kind = self._sampler.supplementary()
            add(supplementary, kind, self._plant[kind](self._defect_rng, supplementary) if kind else None)
        return rows, defects, identity


@dataclass(frozen=True)
class Manifest:
    """What :func:`generate` wrote. For ``sqlite`` the contracts are a table in the payroll file,
    for ``xlsx`` a sheet of it; ``contracts`` then names that same file."""

    out_dir: Path
    fmt: str
    period: str
    seed: int
    payroll: Path
    contracts: Path
    identity_register: Path
    defects: Path
    manifest: Path
    employers: int
    employees: int
    contract_count: int
    rows: int
    supplementary_rows: int
    defect_rows: int
    defect_counts: Mapping[str, int] = field(default_factory=dict)  # kind → rows; identity_mismatch too
    wage_scale_assumed_from: int | None = None  # the period's year has no SGK file: wages scaled on this year's


def _writer(fmt: str, out: Path, payroll: SyntheticPayroll, encoding: str):
    from oks.payroll import synthetic_writers as writers

    path = out / PAYROLL_FILES[fmt]
    if fmt == "sqlite":
        return writers.SqliteWriter(path, payroll.contracts), path
    if fmt == "csv":
        return writers.CsvWriter(path, out / CONTRACTS_CSV, payroll.contracts, encoding), out / CONTRACTS_CSV
    period = payroll.period
    return writers.XlsxWriter(path, payroll.contracts, timestamp=datetime(period.year, period.month, 1)), path


def generate(
    out_dir: str | Path,
    *,
    employers: int = 5,
    employees: int = 200,
    period: str,
    seed: int = 0,
    defect_share: float = 0.03,
    identity_mismatch_share: float = 0.005,
    fmt: str = "sqlite",
    encoding: str = "utf-8-sig",
    chunk_size: int = 10_000,
    wage_days: Sequence[date] = (),
) -> Manifest:
    """Write a synthetic payroll, its identity register, defect list and manifest into ``out_dir``.

    ``fmt``: ``sqlite`` (``payroll.sqlite``, tables ``payroll`` and ``contracts``), ``csv``
    (``payroll.csv`` and ``contracts.csv``, Turkish headers and formats, ``encoding``) or
    ``xlsx`` (``payroll.xlsx``, sheets ``payroll`` and ``contracts``). Existing files of the same
    names are replaced. ``wage_days``: the contracts' pay days, in turn (default: drawn as employers
    choose them).
    """
    from oks.payroll.synthetic_writers import DefectsWriter, RegisterWriter

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)} (got {encoding!r})")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1 (got {chunk_size})")
    payroll = SyntheticPayroll(
        employers=employers,
        employees=employees,
        period=period,
        seed=seed,
        defect_share=defect_share,
        identity_mismatch_share=identity_mismatch_share,
        extraction_defects=fmt != "sqlite",
        wage_days=wage_days,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writer, contracts_path = _writer(fmt, out, payroll, encoding)
    register = RegisterWriter(out / REGISTER_FILE)
    defects = DefectsWriter(out / DEFECTS_FILE)
    counts: Counter[str] = Counter()
    try:
        for chunk in payroll.chunks(chunk_size):
            writer.write(chunk.rows)
            register.write(chunk.people)
            defects.write(chunk.defects)
            counts.update(entry.defect for entry in chunk.defects)
        for done in (writer, register, defects):
            done.close()
    except BaseException:
        # Only finished files carry their final names; half-written ones are not left behind.
        for unfinished in (writer, register, defects):
            with contextlib.suppress(Exception):
                unfinished.abort()
        raise

    defect_counts = {kind: counts[kind] for kind in payroll.kinds} | {IDENTITY_MISMATCH: counts[IDENTITY_MISMATCH]}
    manifest = Manifest(
        out_dir=out,
        fmt=fmt,
        period=payroll.period.label,
        seed=seed,
        payroll=out / PAYROLL_FILES[fmt],
        contracts=contracts_path,
        identity_register=out / REGISTER_FILE,
        defects=out / DEFECTS_FILE,
        manifest=out / MANIFEST_FILE,
        employers=len(payroll.employers),
        employees=employees,
        contract_count=len(payroll.contracts),
        rows=payroll.rows,
        supplementary_rows=payroll.supplementary_rows,
        defect_rows=sum(n for kind, n in defect_counts.items() if kind != IDENTITY_MISMATCH),
        defect_counts=MappingProxyType(defect_counts),
        wage_scale_assumed_from=payroll.wage_scale_assumed_from,
    )
    _write_manifest(manifest, payroll, encoding)
    return manifest


def _write_manifest(manifest: Manifest, payroll: SyntheticPayroll, encoding: str) -> None:
    insurers = Counter(c.insurer for c in payroll.contracts)
    document = {
        "generator": "oks demo-data",
        "format": manifest.fmt,
        "encoding": encoding if manifest.fmt == "csv" else None,
        "seed": manifest.seed,
        "period": manifest.period,
        "employers": manifest.employers,
        "employees": manifest.employees,
        "contracts": manifest.contract_count,
        "contracts_by_insurer": {name: insurers[name] for name in INSURERS},
        "rows": manifest.rows,
        "supplementary_rows": manifest.supplementary_rows,
        "defect_share": payroll.defect_share,
        "identity_mismatch_share": payroll.identity_mismatch_share,
        "defect_rows": manifest.defect_rows,
        "defects": dict(manifest.defect_counts),
        "wage_days": sorted({c.wage_paid_on.isoformat() for c in payroll.contracts}),
        "files": {
            "payroll": manifest.payroll.name,
            "contracts": manifest.contracts.name,
            "identity_register": manifest.identity_register.name,
            "defects": manifest.defects.name,
        },
    }
    if manifest.wage_scale_assumed_from is not None:
        # Said where people look: the wages are plausible, the period's own SGK limits are unknown.
        document["wage_scale"] = (
            f"SGK parameters for {manifest.period[:4]} are not on file: wages drawn on the "
            f"{manifest.wage_scale_assumed_from} scale (test data only; validation does not check PEK limits)"
        )
    # No timestamps or absolute paths: the same arguments must give the same bytes.
    manifest.manifest.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
