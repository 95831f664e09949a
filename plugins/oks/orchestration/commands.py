"""`oks run-month`: the main job on the embedded default (see oks.orchestration.local_run)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_run_month(args: argparse.Namespace) -> int:
    from oks.orchestration.local_run import run_demo

    result = run_demo(
        period=args.period, employees=args.employees, employers=args.employers, seed=args.seed, repo=Path(args.repo).resolve()
    )
    return 0 if result.dag_run_state.endswith("success") else 1


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "run-month",
        help="run one monthly OKS run end to end on this machine (synthetic payroll, DES simulator, Airflow)",
        description="Generates a synthetic payroll with defects, starts the DES simulator and an Airflow "
        "api-server on loopback, runs the oks_monthly DAG with dag.test(), answers the payment "
        "confirmations as a bank-statement job would, and prints a summary with the report's path.",
    )
    p.add_argument("--period", metavar="YYYY-MM", help="pay period (default: this month)")
    p.add_argument("--employees", type=int, default=300)
    p.add_argument("--employers", type=int, default=3)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--repo", default=".", help="the checkout (dags/ and include/sql/ are found there)")
    p.set_defaults(handler=_cmd_run_month)
