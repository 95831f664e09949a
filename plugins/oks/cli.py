"""The ``oks`` command.

Each sub-command is a small function over the package's public API; ``main`` only parses arguments
and maps errors to exit codes (0 done, 1 a negative answer such as an invalid identifier, 2 a usage
error).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from datetime import date, datetime
from decimal import Decimal

EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE = 0, 1, 2


def parse_date_arg(text: str) -> date:
    """ISO (2026-05-26) or the Turkish day-first form payroll teams type (26.05.2026)."""
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"{text!r} is not a date: use 2026-05-26 or 26.05.2026")


# --- oks deadline --------------------------------------------------------------------------------


def _cmd_deadline(args: argparse.Namespace) -> int:
    from oks.rules.calendar import holiday_name, payment_deadline

    deadline = payment_deadline(args.wage_paid_on)
    if args.json:
        print(
            json.dumps(
                {
                    "wage_paid_on": deadline.wage_paid_on.isoformat(),
                    "due_on": deadline.due_on.isoformat(),
                    "cutoff": deadline.cutoff.strftime("%H:%M") if deadline.cutoff else None,
                    "skipped": [{"date": d.isoformat(), "reason": why} for d, why in deadline.skipped_days()],
                }
            )
        )
        return EXIT_OK
    wage_note = holiday_name(deadline.wage_paid_on)
    print(f"wage paid on  {deadline.wage_paid_on:%Y-%m-%d %A}" + (f"  ({wage_note})" if wage_note else ""))
    print(f"due on        {deadline.due_on:%Y-%m-%d %A}")
    if deadline.cutoff:
        print(f"cut-off       {deadline.cutoff:%H:%M} (half day: {holiday_name(deadline.due_on)})")
    else:
        print("cut-off       none (full business day)")
    for skipped, why in deadline.skipped_days():
        print(f"skipped       {skipped:%Y-%m-%d %a}  {why}")
    return EXIT_OK


# --- oks check-id --------------------------------------------------------------------------------


def _cmd_check_id(args: argparse.Namespace) -> int:
    from oks.rules import identity

    normalize = {
        "tckn": identity.normalize_tckn,
        "iban": identity.normalize_iban,
        "mobile": identity.normalize_mobile,
    }[args.kind]
    try:
        print(normalize(args.value))
    except identity.InvalidIdentifier as exc:
        print(exc.code)
        print(f"invalid {args.kind}: {exc.message}", file=sys.stderr)
        return EXIT_NEGATIVE
    return EXIT_OK


# --- oks demo ------------------------------------------------------------------------------------

# Fictitious people, each showing one rule; identifiers are valid by checksum only.
_DEMO_PEOPLE = (
    ("Ayşe Yılmaz", "17291716060", date(1990, 4, 12), "TR", "4a", Decimal("52340.75"), {}),
    ("Mehmet Demir", "10000000146", date(1981, 1, 1), "TR", "4a", Decimal("88000.00"), {}),
    ("Elif Kaya", "28374655404", date(1975, 7, 3), "TR", "4a", Decimal("61250.40"), {"certificate": True}),
    ("John Smith", "99123456740", date(1992, 2, 2), "FOREIGN", "4a", Decimal("70000.00"), {}),
    ("Ahmet Öztürk", "31468559090", date(1988, 9, 30), "BLUE_CARD", "4a", Decimal("33030.99"), {"rate": Decimal("0.05")}),
    ("Zeynep Şahin", "43985126884", date(1996, 11, 5), "TR", "4b", Decimal("45000.00"), {}),
)


def _cmd_demo(args: argparse.Namespace) -> int:
    from oks.privacy import mask_name, mask_tckn
    from oks.rules.calendar import ISTANBUL, payment_deadline
    from oks.rules.contributions import contribution
    from oks.rules.eligibility import assess_employee
    from oks.rules.parameters import pek_limits_for
    from oks.rules.statutory_rate import statutory_rate_for

    wage_paid_on = args.wage_paid_on or datetime.now(ISTANBUL).date()
    period = f"{wage_paid_on:%Y-%m}"  # the demo's wages are for the month they are paid in
    limits = pek_limits_for(period)
    rate = statutory_rate_for(wage_paid_on.replace(day=1)).rate
    deadline = payment_deadline(wage_paid_on)
    print(f"OKS rules demonstration — wages of {period} paid on {wage_paid_on:%Y-%m-%d %A}")
    if limits.checked:
        floor, ceiling = limits.parameters.pek_bounds(30)
        print(f"PEK bounds for a full month: {floor:,.2f} – {ceiling:,.2f} TL; statutory rate {rate:.0%}")
    else:
        print(f"PEK bounds for {period}: not checked — {limits.reason}")
        print(f"statutory rate {rate:.0%}")
    print()
    print(f"{'employee':<18} {'TCKN':<12} {'outcome':<12} {'PEK':>12} {'contribution':>13}")
    total = Decimal("0")
    for name, tckn, born, citizenship, status, pek, extra in _DEMO_PEOPLE:
        outcome = assess_employee(
            birth_date=born,
            citizenship=citizenship,
            sgk_status=status,
            inclusion_date=wage_paid_on,
            has_oks_certificate=extra.get("certificate", False),
        )
        amount = contribution(pek, rate=extra.get("rate"), statutory_rate=rate) if outcome.eligible else Decimal("0")
        total += amount
        shown = f"{amount:,.0f}" if outcome.eligible else "—"
        print(f"{mask_name(name):<18} {mask_tckn(tckn):<12} {outcome.reason:<12} {pek:>12,.2f} {shown:>13}")
    print()
    cutoff = f" before {deadline.cutoff:%H:%M}" if deadline.cutoff else ""
    print(f"Total to transfer: {total:,.0f} TL, due by {deadline.due_on:%Y-%m-%d %A}{cutoff}.")
    return EXIT_OK


# --- oks parameters ------------------------------------------------------------------------------


def _cmd_parameters(args: argparse.Namespace) -> int:
    from oks.rules.parameters import available_years, years_on_file
    from oks.rules.statutory_rate import rates_on_file

    on_file = years_on_file()
    print("SGK parameters on file (PEK floor and ceiling, by pay period):")
    for year in on_file:
        starts = ", ".join(d.isoformat() for d in year.effective_from)
        print(f"  {year.year}  {year.file:<10} in force from {starts}  — {year.source}")
    print("statutory contribution rate (law, by pay period):")
    for rate in rates_on_file():
        print(f"  {rate.rate:.2%} from {rate.effective_from}  — {rate.source}")
    if args.no_store:
        return EXIT_OK
    from oks.store import open_store
    from oks.store.snapshot import runs_without_pek_limits

    engine = open_store(args.store)
    with engine.connect() as conn:
        unchecked = runs_without_pek_limits(conn)
    engine.dispose()
    if not unchecked:
        print("every validated run in the store was checked against its year's PEK limits")
        return EXIT_OK
    years = set(available_years())
    print(f"runs validated without PEK limits ({len(unchecked)}):")
    for run in unchecked:
        now = " — its year is on file now: re-run the period to check it" if int(run["period"][:4]) in years else ""
        print(f"  {run['period']}  run {run['run_key']} ({run['state']}): missing {run['missing_file']}{now}")
    return EXIT_OK


# --- entry point ---------------------------------------------------------------------------------

# Sub-commands that live with their subject. Each module has ``register(commands)`` that adds its
# sub-parsers, and imports its heavy dependencies only inside the handlers, so `oks --help` stays fast.
COMMAND_MODULES = (
    "oks.payroll.commands",
    "oks.store.commands",
    "oks.des.commands",
    "oks.orchestration.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oks",
        description="Automatic private-pension enrolment (BES OKS) for Turkish payroll: rules, runs and DES.",
        epilog="Dates may be written 2026-05-26 or 26.05.2026. Personal data is shown masked.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "deadline",
        help="when the contribution for a wage day must reach the insurer",
        description="The statutory payment deadline: the business day after the wage payment day, "
        "with a 12:00 cut-off when that day is a half day (arife, 28 October).",
    )
    p.add_argument("wage_paid_on", type=parse_date_arg, metavar="WAGE_PAID_ON", help="the day wages were paid")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(handler=_cmd_deadline)

    p = commands.add_parser(
        "check-id",
        help="normalize a TCKN, IBAN or mobile number, or say why it is invalid",
        description="Prints the normalized value, or the reason code with exit status 1 "
        "(missing, length, format, checksum, country, reserved_digit, not_mobile).",
    )
    p.add_argument("kind", choices=("tckn", "iban", "mobile"), help="what the value is")
    p.add_argument("value", metavar="VALUE", help="the value as typed; spaces and dashes are fine")
    p.set_defaults(handler=_cmd_check_id)

    p = commands.add_parser("demo", help="show the rules on a few sample employees")
    p.add_argument(
        "--wage-paid-on", type=parse_date_arg, default=None, metavar="DATE", help="wage payment day (default today)"
    )
    p.set_defaults(handler=_cmd_demo)

    p = commands.add_parser(
        "parameters",
        help="the SGK parameter years and statutory rates on file, and the runs validated without PEK limits",
        description="Lists each year's SGK parameter file (source, effective dates) and the statutory rate's "
        "effective dates, then the periods in the store whose validation ran without PEK limits because "
        "their year was not on file yet (re-run them once the file is added).",
    )
    p.add_argument("--store", help="store URL (default: OKS_STORE_URL, the oks_store connection, or the embedded SQLite file)")
    p.add_argument("--no-store", action="store_true", help="list the files only, without reading the store")
    p.set_defaults(handler=_cmd_parameters)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "store", "not a store command") is None and not getattr(args, "no_store", False):
            # The composition root chooses the store, so `oks obligations` on an Airflow machine
            # reads the oks_store connection's database as the tasks do.
            from oks.orchestration.resources import store_url

            args.store = store_url()
        return args.handler(args)
    except (ValueError, LookupError) as exc:
        print(f"oks {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
