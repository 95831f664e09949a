"""Pipeline step: validate the run's snapshot with the personnel and payroll suites (Great Expectations).

Rows an error-level check refuses go to the quarantine (stage ``validate``) with field, rule and a
masked message; every other row continues. Warnings (PEK outside the SGK limits) are counted and
shown in Data Docs, and the row continues. The run stops — :class:`SnapshotStructureError` or
:class:`InvalidShareExceeded`, both carrying the summary — only when the snapshot is unusable as a
whole or when too large a share of the payroll is invalid.

GX and pandas are imported only when the step runs (inside :mod:`oks.quality.gx_runtime`), so importing
this module — a DAG file does — is cheap.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.payroll.columns import BY_NAME
from oks.quality.batch import run_view, view_sql
from oks.quality.checks import QualitySettings, RunFacts, checks_for
from oks.quality.errors import InvalidShareExceeded, SnapshotStructureError, ValidationFailed
from oks.quality.gx_runtime import run_suites
from oks.quality.quarantine import STAGE, quarantined_rows, record_failures
from oks.rules.parameters import PekLimits, pek_limits_for
from oks.store import oks_home
from oks.store.schema import payroll_lines, runs
from oks.store.snapshot import finish_run, record_step

__all__ = [
    "DEFAULT_INVALID_SHARE_THRESHOLD",
    "validate_personnel",
    "default_data_docs_dir",
    "ValidationFailed",
    "SnapshotStructureError",
    "InvalidShareExceeded",
    "QualitySettings",
]

log = logging.getLogger(__name__)

DEFAULT_INVALID_SHARE_THRESHOLD = 0.10
"""Above this share of invalid rows (extraction and validation together) the run stops: a few typos
stay in quarantine while the rest is paid on time, but a tenth of a payroll failing points to a
systematic fault (a shifted column, the wrong file) that should be fixed before anything is sent.
A small employer may want it higher: one bad row of eight is already 12.5%."""


def default_data_docs_dir(run_id: int) -> Path:
    return oks_home() / "data_docs" / f"run-{run_id}"


def _run_facts(engine: Engine, run_id: int) -> tuple[RunFacts, int, PekLimits]:
    with engine.connect() as conn:
        period = conn.execute(sa.select(runs.c.period).where(runs.c.id == run_id)).scalar_one_or_none()
        if period is None:
            raise LookupError(f"no run {run_id} in the store")
        lines = conn.execute(
            sa.select(sa.func.count()).select_from(payroll_lines).where(payroll_lines.c.run_id == run_id)
        ).scalar_one()
    # The limits of the pay period (the premium month), not of the day wages are paid.
    limits = pek_limits_for(period)
    if not limits.checked:
        # A warning-level check: without the year's figures it is not performed, and said so — never
        # run with another year's.
        log.warning("run %d: PEK limits not checked: %s", run_id, limits.reason)
        return RunFacts(run_id=run_id, period=period), lines, limits
    assert limits.parameters is not None  # checked limits always carry the year's parameters
    daily = (limits.parameters.pek_floor_daily, limits.parameters.pek_ceiling_daily)
    return RunFacts(run_id=run_id, period=period, pek_daily_limits=daily), lines, limits


def _column_label(name: str) -> str:
    column = BY_NAME.get(name)
    return f"{name} ({column.turkish})" if column else name


def _structure_problems(outcomes: Iterable, lines: int) -> list[str]:
    problems, empty = [], []
    for outcome in outcomes:
        check = outcome.check
        if check.level == "structure" and not outcome.success:
            problems.append(f"{check.description}: {outcome.observed or 'failed'}")
        elif lines and outcome.unexpected_count == lines and check.level == "error":
            if check.column_must_exist:
                empty.append(_column_label(check.field))
            elif check.all_rows_failing_means:
                problems.append(check.all_rows_failing_means)
    if empty:
        problems.insert(0, f"column(s) missing or empty in every row: {', '.join(empty)}")
    return problems


def _stop(engine: Engine, error: ValidationFailed) -> NoReturn:
    with engine.begin() as conn:
        finish_run(conn, error.summary["run_id"], state="failed", summary={"stage": "validate", **error.summary})
    log.error("%s", error)
    raise error


def validate_personnel(
    engine: Engine,
    run_id: int,
    *,
    data_docs_dir: str | Path | None = None,
    invalid_share_threshold: float = DEFAULT_INVALID_SHARE_THRESHOLD,
    settings: QualitySettings | None = None,
) -> dict[str, object]:
    """Validate run ``run_id``'s snapshot, quarantine failing rows, write Data Docs; return a summary.

    ``data_docs_dir`` defaults to ``$OKS_HOME/data_docs/run-<run_id>`` and is replaced on a re-run.
    The summary holds counts only: lines, quarantined and valid lines, invalid share, failing rows
    per field and expectation (errors and warnings apart), and the path of the Data Docs index.
    """
    started = time.perf_counter()
    settings = settings or QualitySettings()
    if not 0 <= invalid_share_threshold <= 1:
        raise ValueError(f"invalid_share_threshold is a share from 0 to 1, not {invalid_share_threshold}")
    facts, lines, limits = _run_facts(engine, run_id)
    extract_rows = quarantined_rows(engine, run_id, stage="extract")
    docs_dir = Path(data_docs_dir) if data_docs_dir is not None else default_data_docs_dir(run_id)
    summary: dict[str, Any] = {
        "run_id": run_id,
        "period": facts.period,
        "lines": lines,
        "extract_quarantined_rows": extract_rows,
        "pek_limits": limits.as_summary(),
    }
    if lines == 0:
        _stop(
            engine,
            SnapshotStructureError(
                f"run {run_id}: empty extract, no payroll lines to validate"
                + (f" ({extract_rows} rows were quarantined at extraction)" if extract_rows else ""),
                {**summary, "error": "empty extract"},
            ),
        )

    checks = checks_for(facts)
    with run_view(engine, run_id) as table:
        suite_run = run_suites(engine, table, facts, checks, settings, docs_dir=docs_dir, view_sql=view_sql(run_id), lines=lines)
        summary["data_docs"] = str(suite_run.docs_index)
        problems = _structure_problems(suite_run.outcomes, lines)
        if problems:
            _stop(engine, SnapshotStructureError(f"run {run_id}: " + "; ".join(problems), {**summary, "error": "structure"}))
        broken = [f"{o.check.name}: {o.error}" for o in suite_run.outcomes if o.error]
        if broken:
            # A check that did not run must not pass as clean: no quarantine, no go.
            raise RuntimeError(f"run {run_id}: checks could not run: {'; '.join(broken)}")
        counts = record_failures(engine, facts, suite_run.outcomes, settings, lines=lines)

    failed: dict[str, dict[str, int]] = defaultdict(dict)
    for (field, rule), count in sorted(counts.items()):
        failed[field][rule] = count
    warnings: dict[str, dict[str, int]] = defaultdict(dict)
    for outcome in suite_run.outcomes:
        if outcome.check.level == "warning" and outcome.unexpected_count:
            warnings[outcome.check.field][outcome.check.rule] = outcome.unexpected_count

    quarantined = quarantined_rows(engine, run_id, stage=STAGE)
    total = lines + extract_rows
    share = (quarantined + extract_rows) / total
    summary.update(
        quarantined_lines=quarantined,
        valid_lines=lines - quarantined,
        invalid_share=round(share, 6),
        invalid_share_threshold=invalid_share_threshold,
        failed=dict(failed),
        warnings=dict(warnings),
        checks=len(checks),
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info(
        "validated run %d (%s): %d lines, %d quarantined, %d with warnings, invalid share %.2f%%; Data Docs %s",
        run_id, facts.period, lines, quarantined, sum(sum(w.values()) for w in warnings.values()), share * 100,
        summary["data_docs"],
    )  # fmt: skip
    if limits.checked:
        summary["pek_limits"]["outside"] = sum(warnings.get("pek", {}).values())
    if share > invalid_share_threshold:
        _stop(
            engine,
            InvalidShareExceeded(
                f"run {run_id}: {quarantined + extract_rows} of {total} payroll rows invalid ({share:.1%}), "
                f"above the {invalid_share_threshold:.0%} threshold; see {summary['data_docs']}",
                {**summary, "error": "invalid share"},
            ),
        )
    with engine.begin() as conn:
        # The report, the run summary and `oks parameters` read the validation result from the run.
        record_step(conn, run_id, "validate", summary)
    return summary
