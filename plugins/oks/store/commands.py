"""`oks` sub-commands over the store: migrate, list obligations (confirming one is in oks.orchestration)."""

from __future__ import annotations

import argparse
import json


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
