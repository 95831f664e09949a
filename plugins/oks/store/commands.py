"""`oks` sub-commands over the store: migrate, list obligations (confirming one is in oks.orchestration)."""

from __future__ import annotations

import argparse
import json
import sys


def _cmd_migrate(args: argparse.Namespace) -> int:
    from oks.store import current_revision, open_store

    engine = open_store(args.store)
    print(f"store at revision {current_revision(engine)}: {engine.url.render_as_string(hide_password=True)}")
    return 0


def _cmd_obligations(args: argparse.Namespace) -> int:
    from oks.store import open_store
    from oks.store.obligations import owed_query

    engine = open_store(args.store)
    with engine.connect() as conn:
        rows = conn.execute(owed_query(include_paid=args.all)).all()
    if args.json:
        print(json.dumps([
            {"id": r.id, "contract_no": r.contract_no, "insurer": r.insurer, "period": r.period, "kind": r.payment_kind,
             "amount": str(r.amount), "due_on": r.due_on.isoformat(), "cutoff": r.cutoff.strftime("%H:%M") if r.cutoff else None,
             "state": r.state, "days_late": r.days_late, "reference": r.reference}
            for r in rows
        ]))  # fmt: skip
        return 0
    if not rows:
        print("no open payment obligations" if not args.all else "no payment obligations")
        return 0
    for r in rows:
        by = f"{r.due_on:%Y-%m-%d}" + (f" {r.cutoff:%H:%M}" if r.cutoff else "")
        late = f"  paid {r.days_late} day(s) late: loss claim (oks loss-claims)" if r.state == "late" else ""
        print(f"#{r.id:<5} {r.state:<10} due {by:<17} {r.amount:>14,.2f} TL  {r.insurer:<8} {r.contract_no}  {r.period} {r.payment_kind}{late}")
    return 0


def _cmd_loss_claims(args: argparse.Namespace) -> int:
    from oks.store import open_store
    from oks.store.loss_claims import loss_claims_query

    engine = open_store(args.store)
    with engine.connect() as conn:
        rows = conn.execute(loss_claims_query(include_settled=args.all)).all()
    engine.dispose()
    if not rows:
        print("no loss claims open" if not args.all else "no loss claims")
    for r in rows:
        known = f"return {r.fund_return_percent}% ({r.return_source}) → loss {r.loss:,.2f} TL" if r.loss is not None else "fund return not known yet"
        print(f"#{r.id:<5} {r.state:<8} obligation #{r.obligation_id} {r.insurer} {r.contract_no} {r.period} {r.payment_kind}: "
              f"{r.amount:,.2f} TL paid {r.days_late} day(s) late; {known}")  # fmt: skip
    return 0


def _cmd_loss_claim(args: argparse.Namespace) -> int:
    from oks.store import open_store
    from oks.store.loss_claims import LossClaimRefused, enter_return, parse_percent, settle_claim

    engine = open_store(args.store)
    try:
        with engine.begin() as conn:
            if args.action == "return":
                if args.percent is None:
                    raise LossClaimRefused("give the fund's return over the days late: --percent (e.g. 0,85)")
                loss = enter_return(conn, args.claim, percent=parse_percent(args.percent), source=args.source, by=args.by)
                print(f"loss claim #{args.claim}: loss {loss:,.2f} TL to make good")
            else:
                settle_claim(conn, args.claim, by=args.by)
                print(f"loss claim #{args.claim}: settled")
    except (LossClaimRefused, ValueError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from oks.rules.calendar import istanbul_text
    from oks.store import open_store
    from oks.store.schema import runs

    engine = open_store(args.store)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(runs).order_by(runs.c.id.desc()).limit(args.limit)).all()
    engine.dispose()
    if not rows:
        print("no runs in the store")
    for r in rows:
        owner = f"  by {r.owner}" if r.owner else ""
        print(f"#{r.id:<5} {r.period}  {r.state:<10} {r.run_key:<28} started {istanbul_text(r.started_at)}{owner}")
    return 0


def _cmd_release_run(args: argparse.Namespace) -> int:
    from oks.store import open_store
    from oks.store.snapshot import release_run

    engine = open_store(args.store)
    with engine.begin() as conn:
        released = release_run(conn, args.run_key, by=args.by)
    engine.dispose()
    if not released:
        print(f"run {args.run_key} is not running: nothing to release")
        return 1
    print(f"released run {args.run_key} (recorded as failed, released by {args.by}); the period can run again")
    return 0


def _cmd_employer_rename(args: argparse.Namespace) -> int:
    import logging

    from oks.store import open_store
    from oks.store.masterdata import rename_employer

    engine = open_store(args.store)
    with engine.begin() as conn:
        old = rename_employer(conn, args.vkn, args.name.strip())
    engine.dispose()
    if old is None:
        print(f"no employer with VKN {args.vkn} in the store")
        return 1
    logging.getLogger("oks.masterdata").warning("employer %s renamed from %r to %r by %s", args.vkn, old, args.name, args.by)
    print(f"employer {args.vkn}: {old!r} → {args.name.strip()!r} (by {args.by}); payroll rows with the new name now pass")
    return 0


def _cmd_refunds(args: argparse.Namespace) -> int:
    from oks.privacy import mask_name, mask_tckn
    from oks.store import open_store
    from oks.store.refunds import STOPS, open_refunds

    engine = open_store(args.store)
    with engine.connect() as conn:
        rows = open_refunds(conn, include_paid=args.all)
    engine.dispose()
    if not rows:
        print("no refunds owed" if not args.all else "no refunds")
    for r in rows:
        person = mask_name(f"{r.first_name} {r.last_name}")
        print(f"#{r.id:<5} {r.state:<5} due {r.due_on:%Y-%m-%d} {r.amount:>12,.2f} TL  to {person} (TCKN {mask_tckn(r.tckn)})  "
              f"{r.contract_no} {r.period} {r.payment_kind}, wage of {r.wage_paid_on}, {STOPS.get(r.reason, 'stop')} of {r.opted_out_on}")  # fmt: skip
    return 0


def _cmd_confirm_refund(args: argparse.Namespace) -> int:
    from oks.store import open_store
    from oks.store.refunds import RefundNotFound, confirm_refund

    engine = open_store(args.store)
    try:
        with engine.begin() as conn:
            changed = confirm_refund(conn, args.refund, by=args.by, bank_reference=args.bank_reference)
    except RefundNotFound as exc:
        print(str(exc))
        return 1
    finally:
        engine.dispose()
    print(f"refund #{args.refund} confirmed paid by {args.by}; the deadline watch stops" if changed else f"refund #{args.refund} was already paid")
    return 0


def _cmd_deductions(args: argparse.Namespace) -> int:
    from pathlib import Path

    import sqlalchemy as sa

    from oks.pipeline.deductions import deduction_differences, write_deduction_list
    from oks.privacy import mask_name, mask_tckn
    from oks.store import open_store
    from oks.store.schema import runs

    engine = open_store(args.store)
    try:
        with engine.connect() as conn:
            period = conn.execute(sa.select(runs.c.period).where(runs.c.id == args.run)).scalar_one_or_none()
            if period is None:
                print(f"no run #{args.run} in the store (see `oks runs`)")
                return 1
            differences = deduction_differences(conn, args.run)
        out = Path(args.out or f"deductions-{period}-run{args.run}.csv")
        count = write_deduction_list(engine, args.run, out)
    finally:
        engine.dispose()
    print(f"run #{args.run} ({period}): {count} deduction(s) written to {out} — import it into payroll before the wages are paid")
    for d in differences:
        print(f"  row {d.row_no} {d.payroll_id} {mask_name(f'{d.first_name} {d.last_name}')} (TCKN {mask_tckn(d.tckn)}) {d.contract_no} "
              f"{d.payment_kind}: payroll deducts {d.payroll_deduction:,.2f}, the contribution is {d.amount:,.2f} ({d.outcome}: {d.reason})")
    if differences:
        print(f"{len(differences)} payroll deduction(s) differ from the contribution: deduct what the list says")
        return 3
    return 0


def _cmd_channel(args: argparse.Namespace) -> int:
    from oks.store import open_store
    from oks.store.channels import ChannelRefused, channel_of, payment_holder, switch_channel

    engine = open_store(args.store)
    try:
        with engine.begin() as conn:
            if args.action == "switch":
                if not (args.to and args.by and args.reason):
                    print("a switch needs --to, --by and --reason")
                    return 2
                switch_channel(conn, contract_no=args.contract, period=args.period, to=args.to, by=args.by, reason=args.reason)
            channel, holder = channel_of(conn, args.contract, args.period), payment_holder(conn, args.contract, args.period)
    except ChannelRefused as exc:
        print(f"refused: {exc}")
        return 1
    finally:
        engine.dispose()
    held = f"its REGULAR payment is held by {holder.upper()}" if holder else "no REGULAR payment made yet"
    done = f"switched by {args.by} ({args.reason.strip()}): " if args.action == "switch" else ""
    print(f"contract {args.contract} {args.period}: {done}goes by {channel.upper()}; {held}")
    return 0


def _cmd_confirm_upload(args: argparse.Namespace) -> int:
    import logging

    from oks.store import open_store
    from oks.store.channels import confirm_upload

    engine = open_store(args.store)
    try:
        with engine.begin() as conn:
            confirmed = confirm_upload(conn, contract_no=args.contract, period=args.period)
    finally:
        engine.dispose()
    if not confirmed:
        print(f"no file of {args.contract} {args.period} waits for its upload")
        return 1
    logging.getLogger("oks.channels").warning("%s %s: %d file(s) confirmed uploaded by %s", args.contract, args.period, confirmed, args.by)
    print(f"{args.contract} {args.period}: {confirmed} file(s) confirmed uploaded by {args.by}; the Airflow approval, if open, "
          "completes by itself at its deadline or when answered")  # fmt: skip
    return 0


def _cmd_import_policies(args: argparse.Namespace) -> int:
    from oks.payroll.columns import Column
    from oks.payroll.parsing import CellError, parse_cell
    from oks.payroll.sources import PayrollStructureError, open_source
    from oks.pipeline.file_channel import PolicyAnswer, record_policy_numbers
    from oks.rules.identity import InvalidIdentifier, normalize_tckn
    from oks.store import open_store

    spec = (
        Column("tckn", "text", True, "TC Kimlik No", "the person", personal=True),
        Column("policy_no", "text", True, "Poliçe No", "the policy number the insurer gave"),
    )
    answers, refused = [], []
    try:
        for row_no, raw in open_source(args.file, spec=spec).rows():
            try:
                tckn, policy_no = normalize_tckn(parse_cell(spec[0], raw.get("tckn"))), parse_cell(spec[1], raw.get("policy_no"))
            except (InvalidIdentifier, CellError) as exc:
                refused.append((row_no, getattr(exc, "message", None) or str(exc)))
                continue
            if not policy_no:
                refused.append((row_no, "policy_no: empty"))
                continue
            answers.append(PolicyAnswer(row_no, tckn, policy_no))
    except PayrollStructureError as exc:
        print(f"not imported: {exc}")
        return 2
    engine = open_store(args.store)
    try:
        result = record_policy_numbers(engine, args.contract, answers)
    finally:
        engine.dispose()
    refused += result["refused"]  # type: ignore[arg-type]
    for row_no, why in sorted(refused):
        print(f"row {row_no}: not imported: {why}")
    print(f"{args.contract}: {result['enrolled']} policy number(s) recorded by {args.by}, {result['already']} already on file, "
          f"{len(refused)} refused")  # fmt: skip
    return 1 if refused else 0


_REQUEST_KINDS = {"opt-out": "OPT_OUT", "pause": "PAUSE", "resume": "RESUME", "leave": "LEAVE"}


def _cmd_request(args: argparse.Namespace) -> int:
    from oks.privacy import mask_tckn
    from oks.rules.identity import InvalidIdentifier, normalize_tckn
    from oks.store import open_store
    from oks.store.requests import RequestRefused, record_request

    try:
        tckn = normalize_tckn(args.tckn)
    except InvalidIdentifier as exc:
        print(f"not recorded: {exc.message}")
        return 2
    on = args.on
    engine = open_store(args.store)
    try:
        with engine.begin() as conn:
            recorded = record_request(conn, contract_no=args.contract, tckn=tckn, kind=_REQUEST_KINDS[args.kind], requested_on=on,
                                      months=args.months, by=args.by)  # fmt: skip
    except RequestRefused as exc:
        print(f"not recorded: {exc}")
        return 1
    finally:
        engine.dispose()
    what = f"{args.kind} of TCKN {mask_tckn(tckn)} under {args.contract}, asked on {on}" + (f" for {args.months} month(s)" if args.months else "")
    if not recorded.created:
        print(f"request #{recorded.id} ({what}) was already recorded: nothing changed")
        return 0
    print(f"request #{recorded.id} recorded by {args.by}: {what}. Deductions follow it from the next wage; the next run "
          "forwards it to the insurer through DES, and the insurer's decision comes back as a status event.")  # fmt: skip
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    from oks.cli import parse_date_arg  # at registration: oks.cli imports this module

    store_help = "store URL (default: OKS_STORE_URL, the oks_store connection, or the embedded SQLite file)"

    p = commands.add_parser("migrate", help="create or upgrade the OKS store's schema")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_migrate)

    p = commands.add_parser("runs", help="the store's monthly runs: period, state, who runs them")
    p.add_argument("--limit", type=int, default=20, help="how many, newest first (default 20)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_runs)

    p = commands.add_parser(
        "release-run",
        help="end a run whose owner is gone (killed, deleted) so its period can run again",
        description="One run of a period (and employer set) runs at a time. When the one that holds the period "
        "will never finish — its process was killed, its Airflow run deleted — release it: it is recorded as "
        "failed, released by you, and the next run of the period may start. Re-running it is safe.",
    )
    p.add_argument("run_key", metavar="RUN_KEY", help="the run, e.g. 2026-12:all (see `oks runs`)")
    p.add_argument("--by", required=True, metavar="WHO", help="who releases it (recorded)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_release_run)

    p = commands.add_parser(
        "employer", help="master data: rename an employer (payroll rows never rename one)",
        description="An employer keeps the name it was first recorded with; payroll rows that name it otherwise are "
        "quarantined. When the employer really changed its name, record that here, then re-run the period.",
    )  # fmt: skip
    p.add_argument("action", choices=("rename",))
    p.add_argument("vkn", metavar="VKN")
    p.add_argument("name", metavar="NEW_NAME")
    p.add_argument("--by", required=True, metavar="WHO", help="who changes it (logged)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_employer_rename)

    p = commands.add_parser(
        "request", help="record a request an employee made at the employer: opt-out, pause, resume, leave",
        description="An employee may ask the employer to opt out (cayma, within two months of the insurer's notice), to pause "
        "(at most 3 months) or resume, or to leave the plan. Deductions follow the request from the next wage; the next "
        "monthly run forwards it to the insurer through DES, once, and the insurer's decision comes back as a status event.",
    )  # fmt: skip
    p.add_argument("kind", choices=tuple(_REQUEST_KINDS))
    p.add_argument("--contract", required=True, metavar="CONTRACT_NO")
    p.add_argument("--tckn", required=True, metavar="TCKN")
    p.add_argument("--on", required=True, type=parse_date_arg, metavar="YYYY-MM-DD", help="the day the employee asked")
    p.add_argument("--months", type=int, choices=(1, 2, 3), help="a pause: how many months")
    p.add_argument("--by", required=True, metavar="WHO", help="who records it (kept with the request)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_request)

    p = commands.add_parser(
        "deductions", help="the deduction list back to payroll for a run, and payroll deductions that differ from it",
        description="Writes the run's deduction list (one row per payroll line: payroll id, period, payment, amount to deduct, "
        "who bears it, outcome) as CSV in the payroll source's columns, for payroll to import before the wages are paid; "
        "lists every line whose payroll-computed deduction (column payroll_deduction) differs from the contribution "
        "(exit status 3 when any does).",
    )  # fmt: skip
    p.add_argument("--run", type=int, required=True, metavar="RUN_ID", help="the store's run (see `oks runs`)")
    p.add_argument("--out", metavar="FILE", help="where to write it (default deductions-<period>-run<N>.csv here)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_deductions)

    p = commands.add_parser(
        "channel", help="which channel carries a contract's month (des or file), and switching it (DES down on the due day)",
        description="A contract's month goes by DES for AgeSA, Anadolu Hayat and HDI Fiba, by the insurer's file upload for "
        "any other. When DES is down on the due day, switch the month to the file channel; the switch is recorded with "
        "who and why, and refused once the other channel holds the month's REGULAR payment (never a month paid twice).",
    )  # fmt: skip
    p.add_argument("action", choices=("show", "switch"))
    p.add_argument("--contract", required=True, metavar="CONTRACT_NO")
    p.add_argument("--period", required=True, metavar="YYYY-MM")
    p.add_argument("--to", choices=("des", "file"), help="switch: the channel for that month")
    p.add_argument("--by", metavar="WHO", help="switch: who decides (recorded)")
    p.add_argument("--reason", metavar="WHY", help="switch: why (recorded)")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_channel)

    p = commands.add_parser("confirm-upload", help="record that a file-channel contract's files of a month were uploaded to the insurer's portal")
    p.add_argument("--contract", required=True, metavar="CONTRACT_NO")
    p.add_argument("--period", required=True, metavar="YYYY-MM")
    p.add_argument("--by", required=True, metavar="WHO")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_confirm_upload)

    p = commands.add_parser(
        "import-policies", help="a file-channel insurer's answer: each person's policy number (CSV or XLSX)",
        description="Headers TC Kimlik No and Poliçe No (or tckn, policy_no). Each person waiting under the contract is "
        "enrolled with that policy number, once; a TCKN the contract does not know is refused by row.",
    )  # fmt: skip
    p.add_argument("file", metavar="FILE")
    p.add_argument("--contract", required=True, metavar="CONTRACT_NO")
    p.add_argument("--by", required=True, metavar="WHO")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_import_policies)

    p = commands.add_parser("refunds", help="refunds owed to employees (deducted after an opt-out, a pause or a leave), soonest due first")
    p.add_argument("--all", action="store_true", help="include paid ones")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_refunds)

    p = commands.add_parser("confirm-refund", help="record that a refund owed to an employee was paid (stops its alerts)")
    p.add_argument("--refund", type=int, required=True, metavar="ID")
    p.add_argument("--by", required=True, metavar="WHO")
    p.add_argument("--bank-reference", metavar="REF", help="the bank's reference of the transfer")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_confirm_refund)

    p = commands.add_parser("loss-claims", help="late payments' loss claims: what the employer owes the employees for the days late")
    p.add_argument("--all", action="store_true", help="include settled ones")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_loss_claims)

    p = commands.add_parser("loss-claim", help="enter a late payment's fund return (the insurer's, or found by operations), or settle it")
    p.add_argument("action", choices=("return", "settle"))
    p.add_argument("claim", type=int, metavar="ID")
    p.add_argument("--percent", metavar="N", help="the fund's return over the days late, in percent (0,85 or 0.85)")
    p.add_argument("--source", choices=("insurer", "operator"), default="insurer")
    p.add_argument("--by", required=True, metavar="WHO")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_loss_claim)

    p = commands.add_parser("obligations", help="list payment obligations: what to pay to which insurer, by when")
    p.add_argument("--all", action="store_true", help="include paid ones")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--store", help=store_help)
    p.set_defaults(handler=_cmd_obligations)
