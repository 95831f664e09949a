"""Running the suites with Great Expectations Core and writing their Data Docs.

The GX context is ephemeral (in memory): nothing is written into the repository or the working
directory, and analytics are off. The only files are the Data Docs site, built from results that
:mod:`oks.quality.redaction` has masked. GX's own result objects never leave this module: callers get
:class:`Outcome` records — counts and the failing-row query, no values.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from oks.quality.batch import postgres_session_settings
from oks.quality.checks import SUITES, TABLE, Check, QualitySettings, RunFacts
from oks.quality.redaction import SAMPLE_SIZE, redact_result

__all__ = ["Outcome", "SuiteRun", "run_suites", "DOCS_MARKER"]

log = logging.getLogger(__name__)

DOCS_MARKER = ".oks-data-docs"
"""Marks a folder as a Data Docs site this step wrote, so a re-run may replace it (and nothing else)."""

_SITE = "oks_run"
_DATASOURCE = "oks_store"

# GX on SQL caps unexpected_index_list at partial_unexpected_count (and COMPLETE would also fetch up
# to every failing value through psycopg2's client-side cursor, then keep 200): the complete set of
# failing rows comes from unexpected_index_query, streamed by oks.quality.quarantine. SUMMARY gives
# the count, a sample with row numbers for Data Docs, and that query.
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "unexpected_index_column_names": ["row_no"],
    "return_unexpected_index_query": True,
    "partial_unexpected_count": SAMPLE_SIZE,
}


@dataclass(frozen=True)
class Outcome:
    check: Check
    success: bool
    element_count: int | None
    unexpected_count: int | None
    index_query: str | None  # SQL selecting row_no of every failing row (column-map checks)
    observed: str | None  # a table-level check's finding, e.g. "missing: mobile"
    error: str | None = None  # GX could not compute the check: it neither passed nor failed


@dataclass(frozen=True)
class SuiteRun:
    outcomes: tuple[Outcome, ...]
    docs_index: Path


def _quiet_gx() -> None:
    # Before GX is imported: no usage statistics leave the machine, whatever the environment says.
    os.environ["GX_ANALYTICS_ENABLED"] = "false"


def _context(site_dir: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            _SITE: {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_cta_footer": False},
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _expectation(check: Check, facts: RunFacts, settings: QualitySettings):
    import great_expectations.expectations as builtin

    from oks.quality import expectations as custom

    cls = getattr(custom, check.expectation, None) or getattr(builtin, check.expectation)
    kwargs = check.kwargs(facts, settings)
    if check.field != TABLE and "column_A" not in kwargs:
        kwargs["column"] = check.field
    expectation = cls(
        **kwargs,
        description=f"{check.description} [{check.level}]",
        severity="warning" if check.level == "warning" else "critical",
        meta={"oks_check": check.name, "field": check.field, "level": check.level},
    )
    if expectation.expectation_type != check.rule:
        raise RuntimeError(f"check {check.name}: GX names {check.expectation} {expectation.expectation_type}, not {check.rule}")
    return expectation


def _prepare_site_dir(target: Path) -> Path:
    """A fresh folder beside ``target`` to build into; swapped in once complete."""
    if target.exists() and any(target.iterdir()) and not (target / DOCS_MARKER).exists():
        raise FileExistsError(f"{target} exists and is not a Data Docs folder written by oks; choose another data_docs_dir")
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))


def _swap_in(staging: Path, target: Path) -> None:
    (staging / DOCS_MARKER).write_text("Data Docs written by oks-pipeline's validation step; replaced on re-run.\n")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


def _connection_string(engine: Engine, lines: int) -> str:
    url = engine.url
    if engine.dialect.name == "postgresql":
        options = url.query.get("options", "")
        options = " ".join(options) if isinstance(options, tuple) else options
        extra = " ".join(f"-c {name}={value}" for name, value in postgres_session_settings(lines).items())
        url = url.update_query_dict({"options": f"{options} {extra}".strip()})
    return url.render_as_string(hide_password=False)


def _datasource(context, engine: Engine, lines: int):
    connection_string = _connection_string(engine, lines)
    specific = {"sqlite": context.data_sources.add_sqlite, "postgresql": context.data_sources.add_postgres}.get(engine.dialect.name)
    if specific is not None:
        try:
            return specific(name=_DATASOURCE, connection_string=connection_string)
        except ValueError:
            # GX's URL model refuses some URLs libpq takes (a Unix socket given as ?host=/run/…);
            # the generic SQL datasource runs the same queries.
            pass
    return context.data_sources.add_sql(name=_DATASOURCE, connection_string=connection_string)


def _plain_sql(query: str, engine: Engine) -> str:
    """GX's failing-row query as SQL: for pyformat drivers (psycopg2) SQLAlchemy has escaped every
    ``%`` (modulo) as ``%%`` and GX leaves it so when the query has no parameters."""
    if engine.dialect.paramstyle in ("pyformat", "format"):
        query = query.replace("%%", "%")
    return query.strip().rstrip(";").strip()


def _raised(exception_info: dict | None) -> str | None:
    """The error message if GX caught an exception computing an expectation (it reports either one
    record or one per metric), else None: a check that did not run must not pass as clean."""
    if not exception_info:
        return None
    records = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    for record in records:
        if isinstance(record, dict) and record.get("raised_exception"):
            return str(record.get("exception_message") or "unknown error").splitlines()[0][:300]
    return None


def _outcome(check: Check, evr, engine: Engine) -> Outcome:
    raw = evr.result or {}
    if raw.get("unexpected_index_query"):
        # Cleaned in place: the masked copy for Data Docs shows the same runnable SQL.
        raw["unexpected_index_query"] = _plain_sql(raw["unexpected_index_query"], engine)
    observed = raw.get("observed_value")
    return Outcome(
        check=check,
        success=bool(evr.success),
        element_count=raw.get("element_count"),
        unexpected_count=raw.get("unexpected_count"),
        index_query=raw.get("unexpected_index_query"),
        observed=observed if isinstance(observed, str) else None,
        error=_raised(evr.exception_info),
    )


def _replace_stored_result(context, suite_name: str, result) -> None:
    # ValidationDefinition.run has stored the unmasked result (in memory); Data Docs render from the
    # store, so the masked one takes its place before anything is built.
    store = context.validation_results_store
    keys = [key for key in store.list_keys() if key.expectation_suite_identifier.name == suite_name]
    if len(keys) != 1:
        raise RuntimeError(f"expected one stored result for suite {suite_name}, found {len(keys)}")
    store.set(keys[0], result)


def run_suites(
    engine: Engine,
    table_name: str,
    facts: RunFacts,
    checks: Sequence[Check],
    settings: QualitySettings,
    *,
    docs_dir: Path,
    view_sql: str,
    lines: int,
) -> SuiteRun:
    """Validate ``table_name`` (the run's rows) with the personnel and payroll suites, build the masked
    Data Docs site into ``docs_dir`` and return each check's outcome. ``view_sql`` is the query
    shown in place of the temporary table name in Data Docs' failing-row queries; ``lines`` (the
    snapshot's size) sizes the PostgreSQL session."""
    _quiet_gx()
    import great_expectations as gx

    staging = _prepare_site_dir(docs_dir)
    try:
        context = _context(staging)
        datasource = _datasource(context, engine, lines)
        try:
            batch = datasource.add_table_asset(name=f"run_{facts.run_id}", table_name=table_name).add_batch_definition_whole_table(
                f"run_{facts.run_id}"
            )
            by_name = {check.name: check for check in checks}
            outcomes: list[Outcome] = []
            for suite_name in SUITES:
                suite = context.suites.add(gx.ExpectationSuite(name=suite_name, meta={"run_id": facts.run_id, "period": facts.period}))
                for check in checks:
                    if check.suite == suite_name:
                        suite.add_expectation(_expectation(check, facts, settings))
                definition = context.validation_definitions.add(
                    gx.ValidationDefinition(name=f"{suite_name}_run_{facts.run_id}", data=batch, suite=suite)
                )
                result = definition.run(result_format=RESULT_FORMAT)
                for evr in result.results:
                    check = by_name[evr.expectation_config.meta["oks_check"]]
                    outcomes.append(_outcome(check, evr, engine))
                    evr.result = redact_result(evr.result or {}, evr.expectation_config.kwargs, replace={table_name: view_sql})
                _replace_stored_result(context, suite_name, result)
        finally:
            datasource.get_engine().dispose()
        context.build_data_docs(site_names=[_SITE])
        from oks.quality.data_docs_assets import localize_assets

        left = localize_assets(staging)  # operations often have no internet: the pages must render anyway
        if left:
            log.warning("Data Docs still load %d asset(s) from the internet: %s", len(left), ", ".join(left))
        _swap_in(staging, docs_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SuiteRun(outcomes=tuple(outcomes), docs_index=docs_dir / "index.html")
