"""Custom Great Expectations for OKS payroll: the checks GX has no built-in for.

Each is a column-map expectation whose condition is plain SQL pushed into the store (SQLite or
PostgreSQL), so GX counts, samples and lists failing rows without pulling rows into pandas. GX
registers an expectation class when it is defined: this module is imported only from inside the
validation step, never at import time of anything a DAG loads (it imports GX and pandas).

Conditions carry their constants inline (see :mod:`oks.quality.identity_sql`): the failing-row
query GX prints is the query the step runs to fill the quarantine.
"""

from __future__ import annotations

from typing import ClassVar

import sqlalchemy as sa
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation, ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from oks.quality.identity_sql import tckn_is_valid, tr_iban_is_valid, tr_mobile_is_valid

__all__ = [
    "ExpectColumnValuesToBeValidTckn",
    "ExpectColumnValuesToBeValidTrIban",
    "ExpectColumnValuesToBeTrMobile",
    "ExpectColumnValuesToNotBeInTheFuture",
    "ExpectColumnValuesToBePlausibleBirthDates",
    "ExpectColumnValuesToBeKnownContracts",
    "ExpectContractOfTheRowsEmployer",
    "ExpectEmployerNameAsInMasterData",
    "ExpectColumnValuesToNotBeBeforeThePeriod",
    "ExpectOnePersonPerTckn",
    "ExpectPersonUniquePerContractPeriodAndKind",
    "ExpectPekWithinSgkLimits",
    "ExpectWagePaidWithinPeriod",
    "ExpectPayrollColumnsPresentAndTyped",
]


def _dialect(kwargs: dict) -> str:
    return kwargs["_sqlalchemy_engine"].dialect.name


def _text(value: str) -> sa.ColumnElement:
    return sa.literal_column("'" + str(value).replace("'", "''") + "'")


def _int(value: int) -> sa.ColumnElement:
    return sa.literal_column(str(int(value)), sa.Integer)


# --- identifiers ---------------------------------------------------------------------------------


class ColumnValuesValidTckn(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_valid_tckn"

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, **kwargs):
        return tckn_is_valid(column, _dialect(kwargs))


class ExpectColumnValuesToBeValidTckn(ColumnMapExpectation):
    """TCKN (T.C. Kimlik No): 11 digits, first not 0, both check digits right — oks.rules.identity's rule."""

    map_metric = "column_values.oks_valid_tckn"


class ColumnValuesValidTrIban(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_valid_tr_iban"

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, **kwargs):
        return tr_iban_is_valid(column, _dialect(kwargs))


class ExpectColumnValuesToBeValidTrIban(ColumnMapExpectation):
    """A Turkish IBAN: TR, 26 characters, MOD 97-10 check digits, reserved digit 0."""

    map_metric = "column_values.oks_valid_tr_iban"


class ColumnValuesTrMobile(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_tr_mobile"

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, **kwargs):
        return tr_mobile_is_valid(column, _dialect(kwargs))


class ExpectColumnValuesToBeTrMobile(ColumnMapExpectation):
    """A Turkish mobile number (the insurer texts the employee): not a landline, not a service number."""

    map_metric = "column_values.oks_tr_mobile"


# --- dates ---------------------------------------------------------------------------------------


class ColumnValuesNotAfter(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_not_after"
    condition_value_keys = ("as_of",)

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, as_of, **kwargs):
        # ISO text compares correctly with a DATE on PostgreSQL and with SQLite's ISO-text dates.
        return column <= _text(as_of)


class ColumnValuesNotBeforeRegular(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_not_before_for_regular"
    condition_value_keys = ("as_of",)

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, as_of, **kwargs):
        # A supplementary payment (arrears) may reach someone who has left; a regular wage may not.
        return sa.or_(sa.column("payment_kind") != _text("regular"), column >= _text(as_of))


class ExpectColumnValuesToNotBeBeforeThePeriod(ColumnMapExpectation):
    """For a regular wage, the date is on or after ``as_of`` (the first day of the pay period)."""

    as_of: str
    map_metric = "column_values.oks_not_before_for_regular"
    success_keys = ("as_of", "mostly")


class ExpectColumnValuesToNotBeInTheFuture(ColumnMapExpectation):
    """The date is on or before ``as_of`` (the last day of the pay period)."""

    as_of: str
    map_metric = "column_values.oks_not_after"
    success_keys = ("as_of", "mostly")


class ColumnValuesPlausibleBirthDate(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_plausible_birth_date"
    condition_value_keys = ("as_of", "born_after", "born_before")

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, as_of, born_after, born_before, **kwargs):
        # A date after as_of is the future check's finding; judging it here too would report one
        # mistake twice.
        return sa.or_(column > _text(as_of), sa.and_(column >= _text(born_after), column <= _text(born_before)))


class ExpectColumnValuesToBePlausibleBirthDates(ColumnMapExpectation):
    """A worker's birth date: between ``born_after`` and ``born_before`` (the age bounds on ``as_of``)."""

    as_of: str
    born_after: str
    born_before: str
    map_metric = "column_values.oks_plausible_birth_date"
    success_keys = ("as_of", "born_after", "born_before", "mostly")


class WagePaidWithinPeriod(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_wage_paid_within_period"
    condition_value_keys = ("period_start", "regular_until")

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, period_start, regular_until, **kwargs):
        # A supplementary payment (bonus, arrears) is paid whenever it is paid, tagged to its period
        # (docs/rules.md §4): only a date before the period is wrong for it.
        regular = sa.column("payment_kind") == _text("regular")
        return sa.case(
            (regular, sa.and_(column >= _text(period_start), column <= _text(regular_until))),
            else_=column >= _text(period_start),
        )


class ExpectWagePaidWithinPeriod(ColumnMapExpectation):
    """Regular wages paid from the period's first day to ``regular_until``; others not before the period."""

    period_start: str
    regular_until: str
    map_metric = "column_values.oks_wage_paid_within_period"
    success_keys = ("period_start", "regular_until", "mostly")


# --- payroll lines -------------------------------------------------------------------------------


class ColumnValuesKnownContract(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_known_contract"

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, **kwargs):
        known = sa.select(sa.column("contract_no")).select_from(sa.table("contracts"))
        return column.in_(known.scalar_subquery())


class ExpectColumnValuesToBeKnownContracts(ColumnMapExpectation):
    """The contract number is in the store's contract master (DES matches payments by it)."""

    map_metric = "column_values.oks_known_contract"


# The master-data checks are uncorrelated (one hashed set per query, never a lookup per row), and
# name every column with its table: the store's tables carry columns of the batch's names.
_CONTRACTS = sa.table("contracts", sa.column("contract_no"), sa.column("employer_id"))
_EMPLOYERS = sa.table("employers", sa.column("id"), sa.column("vkn"), sa.column("name"))
_EMPLOYEES = sa.table("employees", sa.column("employer_id"), sa.column("tckn"), sa.column("first_name"),
                      sa.column("last_name"), sa.column("birth_date"))  # fmt: skip
_LINES = sa.table("payroll_lines", sa.column("run_id"), sa.column("tckn"), sa.column("employer_vkn"), sa.column("first_name"),
                  sa.column("last_name"), sa.column("birth_date"))  # fmt: skip


class ContractOfTheRowsEmployer(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_contract_of_the_rows_employer"

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, **kwargs):
        # An unknown contract is the known-contract check's finding; only a known one of another
        # employer fails here.
        known = sa.select(_CONTRACTS.c.contract_no)
        owned = sa.select(_CONTRACTS.c.contract_no, _EMPLOYERS.c.vkn).select_from(
            _CONTRACTS.join(_EMPLOYERS, _EMPLOYERS.c.id == _CONTRACTS.c.employer_id)
        )
        return sa.or_(column.not_in(known.scalar_subquery()), sa.tuple_(column, sa.column("employer_vkn")).in_(owned))


class ExpectContractOfTheRowsEmployer(ColumnMapExpectation):
    """The contract (Sözleşme No) belongs to the employer of the row: never another employer's contract."""

    map_metric = "column_values.oks_contract_of_the_rows_employer"


class EmployerNameAsInMasterData(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_employer_name_as_in_master_data"

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, **kwargs):
        return sa.tuple_(sa.column("employer_vkn"), column).in_(sa.select(_EMPLOYERS.c.vkn, _EMPLOYERS.c.name))


class ExpectEmployerNameAsInMasterData(ColumnMapExpectation):
    """The employer's name (İşveren Unvanı) is the one the store holds for its VKN: one name per
    employer; a rename is a master-data change (``oks employer rename``), never a payroll row's."""

    map_metric = "column_values.oks_employer_name_as_in_master_data"


class OnePersonPerTckn(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_one_person_per_tckn"
    condition_value_keys = ("run_id",)

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, run_id, **kwargs):
        # The same TCKN with another name or birth date at another employer — in the store, or in this
        # very run: one of them is wrong, and the insurer refuses the one that differs from the register.
        line = _LINES.alias("line_")
        other = _LINES.alias("other_")
        differs = lambda a, b: sa.or_(a.c.first_name != b.c.first_name, a.c.last_name != b.c.last_name,  # noqa: E731
                                      a.c.birth_date != b.c.birth_date)  # fmt: skip
        in_store = (
            sa.select(line.c.tckn)
            .select_from(line.join(_EMPLOYEES, _EMPLOYEES.c.tckn == line.c.tckn).join(_EMPLOYERS, _EMPLOYERS.c.id == _EMPLOYEES.c.employer_id))
            .where(line.c.run_id == _int(run_id), _EMPLOYERS.c.vkn != line.c.employer_vkn, differs(line, _EMPLOYEES))
        )  # fmt: skip
        in_run = (
            sa.select(line.c.tckn)
            .select_from(line.join(other, sa.and_(other.c.tckn == line.c.tckn, other.c.run_id == line.c.run_id)))
            .where(line.c.run_id == _int(run_id), other.c.employer_vkn != line.c.employer_vkn, differs(line, other))
        )
        return column.not_in(sa.union(in_store, in_run).scalar_subquery())


class ExpectOnePersonPerTckn(ColumnMapExpectation):
    """One TCKN is one person: another employer's record of it carries the same name and birth date."""

    run_id: int
    map_metric = "column_values.oks_one_person_per_tckn"
    success_keys = ("run_id", "mostly")


UNIQUE_KEY = ("tckn", "contract_no", "period", "payment_kind")


class PersonUniquePerContractPeriodAndKind(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_unique_per_contract_period_kind"

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, _table, **kwargs):
        key = [sa.column(name) for name in UNIQUE_KEY]
        ranked = (
            sa.select(
                sa.column("row_no").label("row_no"),
                sa.func.row_number().over(partition_by=key, order_by=sa.column("row_no")).label("occurrence"),
            )
            .select_from(_table)
            .subquery("ranked")
        )
        # The batch is also the outer query's FROM: without correlate(None) SQLAlchemy would tie the
        # subquery to it. Uncorrelated, both engines evaluate it once (a hashed set), not per row.
        repeats = sa.select(ranked.c.row_no).where(ranked.c.occurrence > _int(1)).correlate(None)
        return sa.not_(sa.column("row_no").in_(repeats.scalar_subquery()))


class ExpectPersonUniquePerContractPeriodAndKind(ColumnMapExpectation):
    """One line per person (TCKN), contract, period and payment kind: a supplementary bonus line beside
    the regular one is fine, a second regular line is not. The first line in file order stands; each
    repeat fails (an exported-twice row is the common case, and the person is still paid once)."""

    map_metric = "column_values.oks_unique_per_contract_period_kind"


class PekWithinSgkLimits(ColumnMapMetricProvider):
    condition_metric_name = "column_values.oks_pek_within_sgk_limits"
    condition_value_keys = ("floor_daily_kurus", "ceiling_daily_kurus")

    @column_condition_partial(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(cls, column, floor_daily_kurus, ceiling_daily_kurus, **kwargs):
        days = sa.column("sgk_days")
        # Whole kuruş on both sides: exact on PostgreSQL's NUMERIC and on SQLite's floating point.
        kurus = sa.func.round(column * _int(100))
        regular = sa.column("payment_kind") == _text("regular")
        # A bonus or arrears line is only part of its month's PEK: it cannot be held to the floor,
        # but alone above the month's ceiling it is surely wrong.
        within = sa.and_(
            sa.or_(sa.not_(regular), kurus >= _int(floor_daily_kurus) * days),
            kurus <= _int(ceiling_daily_kurus) * days,
        )
        # Negative PEK and impossible day counts are other checks' findings.
        not_judged = sa.or_(column < _int(0), days < _int(0), days > _int(30))
        return sa.or_(not_judged, within)


class ExpectPekWithinSgkLimits(ColumnMapExpectation):
    """PEK within the year's floor and ceiling prorated by the line's SGK days (daily limits in kuruş);
    a supplementary line only under the ceiling. PEK arrives already bounded by payroll, so a miss is
    flagged, not stopped."""

    floor_daily_kurus: int
    ceiling_daily_kurus: int
    map_metric = "column_values.oks_pek_within_sgk_limits"
    success_keys = ("floor_daily_kurus", "ceiling_daily_kurus", "mostly")


# --- the table -----------------------------------------------------------------------------------

_KIND_PREFIXES = {
    "text": ("VARCHAR", "CHARACTER VARYING", "TEXT", "CHAR", "STRING", "NVARCHAR"),
    "int": ("INTEGER", "BIGINT", "SMALLINT", "INT"),
    "date": ("DATE",),
    "money": ("NUMERIC", "DECIMAL"),
    "rate": ("NUMERIC", "DECIMAL"),
    "bool": ("BOOLEAN", "BOOL"),
    "period": ("VARCHAR", "CHARACTER VARYING", "TEXT", "CHAR"),
}


def _type_name(column_type: object) -> str:
    # GX hands over SQLAlchemy types (SQLite) or their names (PostgreSQL: "NUMERIC(14, 2)").
    return str(column_type).upper()


class ExpectPayrollColumnsPresentAndTyped(BatchExpectation):
    """Every column of the payroll contract is present in the snapshot, with a type of its kind
    (text, int, date, money, bool): a missing or mistyped column stops the run."""

    columns: dict
    metric_dependencies = ("table.column_types",)
    success_keys = ("columns",)
    domain_keys: ClassVar[tuple[str, ...]] = ("batch_id", "table", "row_condition", "condition_parser")

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        observed = {str(entry["name"]).lower(): _type_name(entry["type"]) for entry in metrics["table.column_types"]}
        missing = sorted(name for name in self.columns if name not in observed)
        mistyped = {
            name: observed[name]
            for name, kind in self.columns.items()
            if name in observed and not observed[name].startswith(_KIND_PREFIXES[kind])
        }
        problems = [f"missing: {', '.join(missing)}"] if missing else []
        problems += [f"{name} is {type_}" for name, type_ in sorted(mistyped.items())]
        return {
            "success": not problems,
            "result": {
                "observed_value": "; ".join(problems) or f"all {len(self.columns)} columns present and typed",
                "details": {"missing": missing, "mistyped": mistyped},
            },
        }
