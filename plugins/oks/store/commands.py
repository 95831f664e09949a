"""`oks` sub-commands over the store: migrate, list obligations, confirm a bank transfer."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from decimal import Decimal, InvalidOperation


def _amount(text: str) -> Decimal:
    from oks.payroll.parsing import CellError, parse_money

    try:
        return parse_money(text)
    except (CellError, InvalidOperation):
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount (e.g. 12345.67 or 12.345,67)") from None


def _cmd_migrate(args: argparse.Namespace) -> int:
    from oks.store import current_revision, open_store

    engine = open_store(args.store)
    print(f"store at revision {current_revision(engine)}: {engine.url.render_as_string(hide_password=True)}")
    return 0


def _cmd_obligations(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from oks.store import open_store
    from oks.store.schema import contracts, payment_obligations

    engine = open_store(args.store)
    query = (
        sa.select(payment_obligations, contracts.c.contract_no, contracts.c.insurer)
        .join(contracts, contracts.c.id == payment_obligations.c.contract_id)
        .order_by(payment_obligations.c.due_on, contracts.c.contract_no)
    )
    if not args.all:
        query = query.where(payment_obligations.c.state != "paid")
    rows = engine.connect().execute(query).all()
    if args.json:
        print(json.dumps([
            {"id": r.id, "contract_no": r.contract_no, "insurer": r.insurer, "period": r.period, "kind": r.payment_kind,
             "amount": str(r.amount), "due_on": r.due_on.isoformat(), "cutoff": r.cutoff.strftime("%H:%M") if r.cutoff else None,
             "state": r.state, "reference": r.reference}
            for r in rows
        ]))  # fmt: skip
        return 0
    if not rows:
        print("no open payment obligations" if not args.all else "no payment obligations")
        return 0
    for r in rows:
        by = f"{r.due_on:%Y-%m-%d}" + (f" {r.cutoff:%H:%M}" if r.cutoff else "")
        print(f"#{r.id:<5} {r.state:<10} due {by:<17} {r.amount:>14,.2f} TL  {r.insurer:<8} {r.contract_no}  {r.period} {r.payment_kind}")
    return 0


def _cmd_confirm_payment(args: argparse.Namespace) -> int:
    from oks.pipeline.obligations import confirm_payment
    from oks.store import open_store

    ids = confirm_payment(
        open_store(args.store),
        obligation_id=args.obligation,
        contract_no=args.contract,
        period=args.period,
        payment_kind=args.kind,
        paid_at=args.paid_at,
        confirmed_by=args.by,
        amount=args.amount,
    )
    print(f"confirmed paid: obligation {', '.join(f'#{i}' for i in ids)}; its deadline alerts stop")
    if args.no_airflow:
        return 0
    import requests

    from oks.orchestration.airflow_api import AirflowApi, confirm_in_airflow

    api = AirflowApi.from_env()
    try:
        answered = confirm_in_airflow(ids, api)
    except requests.RequestException as exc:
        print(f"note: Airflow API at {api.base_url} not answered ({type(exc).__name__}); a waiting "
              "confirm_bank_transfer task will see the payment when it checks the store", file=sys.stderr)
        return 0
    if answered:
        print(f"answered confirm_bank_transfer in Airflow for obligation {', '.join(f'#{i}' for i in answered)}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    store_help = "store URL (default: OKS_STORE_URL, the oks_store connection, or the embedded SQLite file)"

    p = commands.add_parser("migrate", help="create or upgrade the OKS store's schema")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_migrate)

    p = commands.add_parser("obligations", help="list payment obligations: what to pay to which insurer, by when")
    p.add_argument("--all", action="store_true", help="include paid ones")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_obligations)

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
    p.add_argument("--kind", choices=("regular", "supplementary"), default="regular")
    p.add_argument("--amount", type=_amount, help="the amount transferred, checked against the obligation")
    p.add_argument("--paid-at", type=datetime.fromisoformat, metavar="ISO_TIME", help="when the transfer was made (default now)")
    p.add_argument("--by", required=True, metavar="WHO", help="who confirms (person or bank-statement job)")
    p.add_argument("--no-airflow", action="store_true", help="do not answer the waiting approval in Airflow (OKS_AIRFLOW_API_URL)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_confirm_payment)
