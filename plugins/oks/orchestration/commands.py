"""`oks run-month`: the main job on the embedded default (see oks.orchestration.local_run)."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path


def _cmd_run_month(args: argparse.Namespace) -> int:
    import sys

    from oks.orchestration.local_run import HomeBusy, run_demo

    try:
        result = run_demo(
            period=args.period, employees=args.employees, employers=args.employers, seed=args.seed, repo=Path(args.repo).resolve(),
            des_batch_size=args.des_batch_size,
        )
    except HomeBusy as exc:
        print(f"oks run-month: {exc}", file=sys.stderr)
        return 1
    return 0 if result.dag_run_state.endswith("success") else 1


def _cmd_ui(args: argparse.Namespace) -> int:
    """Airflow's scheduler, dag-processor, triggerer and api-server with the DES simulator beside it."""
    import json
    import os
    import signal
    import subprocess
    import sys

    from oks.des.simulator.server import DEMO_CUSTOMER
    from oks.orchestration.local_airflow import LocalAirflow
    from oks.orchestration.local_run import DEMO_WS, configure_local_airflow, demo_payroll
    from oks.orchestration.ui_login import ROLES, local_logins
    from oks.store import oks_home

    repo = Path(args.repo).resolve()
    configure_local_airflow(Path(os.environ.get("AIRFLOW_HOME") or repo / ".airflow"), repo / "dags")
    home = oks_home()
    # One demo payroll per period: the one operations trigger must be of the period they are told.
    demo = home / "demo" / f"ui-{args.period}"
    if not (demo / "payroll.csv").exists():
        manifest = demo_payroll(demo, args.period, employees=args.employees, employers=args.employers, seed=2026)
        register = manifest.identity_register
    else:
        register = demo / "identity_register.csv"
    url = f"http://127.0.0.1:{args.simulator_port}"
    logins = local_logins(Path(os.environ["AIRFLOW_HOME"]))
    env = {
        **os.environ,
        **logins.environment(),
        "AIRFLOW_CONN_DES_DEFAULT": json.dumps({"conn_type": "http", "host": url, "login": DEMO_CUSTOMER.customer_no,
                                               "password": DEMO_CUSTOMER.password, "extra": {"tckn": DEMO_CUSTOMER.tckn}}),
        "AIRFLOW_CONN_OKS_WS_DEFAULT": json.dumps(DEMO_WS),
        "OKS_PAYROLL_SOURCE": str(demo),
        "OKS_DES_POLL_SECONDS": os.environ.get("OKS_DES_POLL_SECONDS", "10"),
    }  # fmt: skip
    simulator = subprocess.Popen(
        [sys.executable, "-m", "oks.cli", "simulator", "--port", str(args.simulator_port), "--db", str(home / "simulator" / "ui.sqlite"),
         "--insurer-delay", str(args.insurer_delay), "--identity-register", str(register)],
        env=env,
    )  # fmt: skip
    # A `kill` stops the components too (a background job does not get Ctrl-C's SIGINT).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with LocalAirflow(env, host=args.host, port=args.port) as airflow:
            if logins.created:  # shown once; afterwards only the owner-only file has them
                print("UI logins (role): " + ", ".join(f"{user} ({role}) password {logins.passwords[user]}" for user, role in ROLES.items()))
            print(f"log in at {airflow.url} — passwords in {logins.passwords_file} (readable by you only)")
            print(f"DES simulator on {url}; payroll of {args.period} for manual runs in {demo}")
            print(f"trigger oks_monthly with period {args.period} (the payroll_source param may stay empty)", flush=True)
            return airflow.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        simulator.terminate()
        simulator.wait(10)


def _amount(text: str):
    from decimal import InvalidOperation

    from oks.payroll.parsing import CellError, parse_money

    try:
        return parse_money(text)
    except (CellError, InvalidOperation):
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount (e.g. 12345.67 or 12.345,67)") from None


def _cmd_confirm_payment(args: argparse.Namespace) -> int:
    import os
    import sys

    from oks.orchestration.airflow_api import confirm_payment_and_approve

    if args.store:
        os.environ["OKS_STORE_URL"] = args.store
    ids, approved = confirm_payment_and_approve(
        answer_airflow=not args.no_airflow, obligation_id=args.obligation, contract_no=args.contract, period=args.period,
        payment_kind=args.kind, paid_at=args.paid_at, confirmed_by=args.by, amount=args.amount,
        bank_reference=args.bank_reference,
    )  # fmt: skip
    print(f"confirmed paid: obligation {', '.join(f'#{i}' for i in ids)}; its deadline alerts stop")
    if approved is None:
        print("note: the Airflow API (OKS_AIRFLOW_API_URL) did not answer; a waiting confirm_bank_transfer task "
              "will see the payment when it checks the store", file=sys.stderr)  # fmt: skip
    elif approved:
        print(f"answered confirm_bank_transfer in Airflow for obligation {', '.join(f'#{i}' for i in approved)}")
    return 0


def _cmd_ui_with_period(args: argparse.Namespace) -> int:
    from oks.orchestration.local_run import default_period

    args.period = args.period or default_period()
    return _cmd_ui(args)


def _store(args: argparse.Namespace):
    import os

    if args.store:
        os.environ["OKS_STORE_URL"] = args.store
    from oks.orchestration.resources import store_engine

    return store_engine()


def _cmd_corrections(args: argparse.Namespace) -> int:
    from oks.pipeline.corrections import open_corrections

    found = open_corrections(_store(args), include_closed=args.all)
    if not found:
        print("no corrections waiting for approval" if not args.all else "no corrections")
        return 0
    for c in found:
        print(f"correction #{c['id']} {c['state']:<9} {c['insurer']} {c['contract_no']} {c['period']} {c['payment_kind']}: "
              f"DES payment {c['original_des_payment_id']} holds {c['original_total']:,.2f} TL; "
              f"{c['people']} people differ — {c['to_pay']:,.2f} TL to pay, {c['over_paid']:,.2f} TL over-paid (to reclaim)")  # fmt: skip
        if args.people:
            for item in c["items"]:
                print(f"    {item['tckn']}  paid {item['paid']:>12,.2f}  due {item['due']:>12,.2f}  difference {item['difference']:>+12,.2f}")
        if c["decided_by"]:
            print(f"    decided by {c['decided_by']}" + (f": {c['reason']}" if c["reason"] else ""))
    return 0


def _cmd_correction(args: argparse.Namespace) -> int:
    from oks.orchestration import correction

    _store(args)  # the glue reads the store this selects
    if args.action == "refuse":
        if not args.reason:
            raise ValueError("refusing a correction needs --reason (recorded for the auditors)")
        correction.refuse(args.id, by=args.by, reason=args.reason)
        print(f"correction #{args.id} refused by {args.by}: nothing is sent")
        return 0
    done = correction.approve(args.id, by=args.by, wage_paid_on=args.wage_paid_on)
    if not done["sent_now"]:
        print(f"correction #{args.id} was sent already (DES payment {done['des_payment_id']}): nothing sent again")
        return 0
    print(f"correction #{args.id} approved by {args.by}: {done['to_pay']} TL sent to DES as payment {done['des_payment_id']} "
          f"(wages of {done['wage_paid_on']}), obligation #{done['obligation_id']}; {done['over_paid']} TL over-paid to reclaim")  # fmt: skip
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "run-month",
        help="run one monthly OKS run end to end on this machine (synthetic payroll, DES simulator, Airflow)",
        description="Generates a synthetic payroll with defects, starts the DES simulator and an Airflow "
        "api-server on loopback, runs the oks_monthly DAG with dag.test(), answers the payment "
        "confirmations as a bank-statement job would, and prints a summary with the report's path.",
    )
    p.add_argument("--period", metavar="YYYY-MM", help="pay period (default: this month in Istanbul)")
    p.add_argument("--employees", type=int, default=300)
    p.add_argument("--employers", type=int, default=3)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--des-batch-size", type=int, default=2, metavar="N",
                   help="contracts per mapped DES task (default 2, so that a small demo shows the mapping)")
    p.add_argument("--repo", default=".", help="the checkout (dags/ and include/sql/ are found there)")
    p.set_defaults(handler=_cmd_run_month)

    p = commands.add_parser("ui", help="Airflow (UI on :8080, scheduler, triggerer, dag-processor) with the DES simulator, to see and trigger the DAGs")
    p.add_argument("--period", default=None, metavar="YYYY-MM", help="period of the demo payroll (default: this month in Istanbul)")
    p.add_argument("--port", type=int, default=8080, help="port of the UI and REST API (default 8080)")
    p.add_argument("--simulator-port", type=int, default=8765)
    p.add_argument("--host", default="127.0.0.1", help="address the UI listens on (default loopback only)")
    p.add_argument("--employees", type=int, default=300, help="size of the demo payroll (default 300)")
    p.add_argument("--employers", type=int, default=3)
    p.add_argument("--insurer-delay", type=float, default=15.0, help="seconds the simulated insurers take to answer")
    p.add_argument("--repo", default=".", help="the checkout (dags/ is found there)")
    p.set_defaults(handler=_cmd_ui_with_period)

    from oks.cli import parse_date_arg

    store_help = "store URL (default: OKS_STORE_URL, the oks_store connection, or the embedded SQLite file)"
    p = commands.add_parser(
        "corrections",
        help="corrections waiting for approval: a re-run computed other amounts than DES holds for a month",
        description="A month DES already holds is never paid again automatically. When a re-run computes other "
        "amounts, the difference per person is proposed as a correction; review it here, then approve or refuse it.",
    )
    p.add_argument("--all", action="store_true", help="include sent and refused ones")
    p.add_argument("--people", action="store_true", help="list the people (TCKN masked) with paid, due and difference")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_corrections)

    p = commands.add_parser(
        "correction",
        help="approve (send the difference to DES, with its own obligation) or refuse a proposed correction",
        description="approve: the positive differences go to DES as one SUPPLEMENTARY payment dated by the day the "
        "difference is deducted (default today), with its own payment obligation and statutory deadline; "
        "over-payments are recorded to reclaim, never netted. refuse: nothing is sent, the reason is recorded.",
    )
    p.add_argument("action", choices=("approve", "refuse"))
    p.add_argument("id", type=int, metavar="ID", help="the correction (see `oks corrections`)")
    p.add_argument("--by", required=True, metavar="WHO", help="who decides (recorded)")
    p.add_argument("--reason", help="why, when refusing")
    p.add_argument("--wage-paid-on", type=parse_date_arg, metavar="DATE",
                   help="the day the difference is deducted from wages (default today)")  # fmt: skip
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_correction)

    p = commands.add_parser(
        "confirm-payment",
        help="record that a bank transfer to the insurer was made (stops the deadline alerts)",
        description="Confirm a payment obligation as paid, by its id or by contract and period. "
        "With --amount the transfer is checked against what is owed: a short transfer is refused.",
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--obligation", type=int, metavar="ID", help="obligation id (see `oks obligations`)")
    target.add_argument("--contract", metavar="CONTRACT_NO", help="contract number (with --period)")
    p.add_argument("--period", metavar="YYYY-MM", help="pay period, with --contract")
    p.add_argument("--kind", choices=("regular", "supplementary", "correction"), default="regular")
    p.add_argument("--amount", type=_amount, help="the amount transferred, checked against the obligation")
    p.add_argument("--paid-at", type=datetime.fromisoformat, metavar="ISO_TIME", help="when the transfer was made (default now)")
    p.add_argument("--bank-reference", metavar="REF", help="the bank's reference of the transfer (kept for the auditors)")
    p.add_argument("--by", required=True, metavar="WHO", help="who confirms (person or bank-statement job)")
    p.add_argument("--no-airflow", action="store_true", help="do not answer the waiting approval in Airflow (OKS_AIRFLOW_API_URL)")
    p.add_argument("--store", help="store URL (default: OKS_STORE_URL, the oks_store connection, or the embedded SQLite file)")
    p.set_defaults(handler=_cmd_confirm_payment)

