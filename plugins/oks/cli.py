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


def _parse_date(text: str) -> date:
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
    from oks.rules.calendar import payment_deadline
    from oks.rules.contributions import contribution
    from oks.rules.eligibility import assess_employee
    from oks.rules.parameters import parameters_for

    wage_paid_on = args.wage_paid_on
    params = parameters_for(wage_paid_on)
    deadline = payment_deadline(wage_paid_on)
    print(f"OKS rules demonstration — wages paid on {wage_paid_on:%Y-%m-%d %A}")
    floor, ceiling = params.pek_bounds(30)
    print(f"PEK bounds for a full month: {floor:,.2f} – {ceiling:,.2f} TL; statutory rate {params.contribution_rate:.0%}")
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
        amount = contribution(pek, rate=extra.get("rate")) if outcome.eligible else Decimal("0")
        total += amount
        shown = f"{amount:,.0f}" if outcome.eligible else "—"
        print(f"{mask_name(name):<18} {mask_tckn(tckn):<12} {outcome.reason:<12} {pek:>12,.2f} {shown:>13}")
    print()
    cutoff = f" before {deadline.cutoff:%H:%M}" if deadline.cutoff else ""
    print(f"Total to transfer: {total:,.0f} TL, due by {deadline.due_on:%Y-%m-%d %A}{cutoff}.")
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
    p.add_argument("wage_paid_on", type=_parse_date, metavar="WAGE_PAID_ON", help="the day wages were paid")
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
        "--wage-paid-on", type=_parse_date, default=date.today(), metavar="DATE", help="wage payment day (default today)"
    )
    p.set_defaults(handler=_cmd_demo)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, LookupError) as exc:
        print(f"oks {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
