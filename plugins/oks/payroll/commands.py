"""`oks` sub-commands of `oks.payroll`: see `oks.cli.COMMAND_MODULES`."""

from __future__ import annotations

import argparse
import os
import re
from datetime import datetime
from pathlib import Path

from oks.rules.calendar import ISTANBUL

# Kept here rather than imported from oks.payroll.synthetic: `oks --help` must not load the generator.
_FORMATS = ("sqlite", "csv", "xlsx")
_ENCODINGS = ("utf-8", "utf-8-sig", "cp1254")


def _period(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a pay period: use YYYY-MM, e.g. 2026-10")
    return text.strip()


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least 1")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share: use e.g. 0.03 for 3%") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a share is between 0 and 1 (0.03 is 3%)")
    return value


def _default_out() -> Path:
    return Path(os.environ.get("OKS_HOME", ".oks")) / "demo-data"


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from oks.payroll.synthetic import generate

    manifest = generate(
        args.out,
        employers=args.employers,
        employees=args.employees,
        period=args.period,
        seed=args.seed,
        defect_share=args.defect_share,
        identity_mismatch_share=args.identity_mismatch_share,
        fmt=args.format,
        encoding=args.encoding,
        chunk_size=args.chunk_size,
        wage_days=args.wage_day or (),
    )
    if args.json:
        print(manifest.manifest.read_text(encoding="utf-8"), end="")
        return 0
    # Counts and file names only: the files hold (fictitious) personal data, the terminal does not.
    print(f"synthetic payroll for {manifest.period} (seed {manifest.seed}) in {manifest.out_dir}")
    print(f"  {manifest.employers} employers, {manifest.contract_count} contracts, {manifest.employees} employees")
    print(f"  {manifest.rows} rows ({manifest.supplementary_rows} supplementary) in {manifest.payroll.name}")
    print(f"  {manifest.defect_rows} rows with one planted defect each, listed in {manifest.defects.name}:")
    for kind, count in manifest.defect_counts.items():
        print(f"    {kind:<22} {count:>8}")
    if manifest.wage_scale_assumed_from is not None:
        print(f"  note: no SGK parameters for {manifest.period[:4]} on file; wages drawn on the {manifest.wage_scale_assumed_from} scale")
    print(f"  identity register: {manifest.identity_register.name}; summary: {manifest.manifest.name}")
    return 0


def _cmd_import_reenrolment(args: argparse.Namespace) -> int:
    from oks.payroll.columns import Column
    from oks.payroll.parsing import CellError, parse_cell
    from oks.payroll.sources import CsvSource, PayrollStructureError
    from oks.rules.identity import InvalidIdentifier, normalize_tckn
    from oks.store import open_store
    from oks.store.notices import import_notices

    spec = (
        Column("tckn", "text", True, "TC Kimlik No", "the person named by the notice", personal=True),
        Column("contract_no", "text", True, "Sözleşme No", "the contract the person left"),
        Column("notified_on", "date", True, "Bildirim Tarihi", "the day of the notice"),
    )
    rows, refused = [], []
    try:
        for row_no, raw in CsvSource(args.file, spec=spec).rows():
            try:
                tckn = normalize_tckn(parse_cell(spec[0], raw.get("tckn")))
                contract_no = parse_cell(spec[1], raw.get("contract_no"))
                notified_on = parse_cell(spec[2], raw.get("notified_on"))
            except (InvalidIdentifier, CellError) as exc:
                refused.append((row_no, getattr(exc, "message", None) or str(exc)))
                continue
            if not contract_no or notified_on is None:
                refused.append((row_no, "contract_no and notified_on are required"))
                continue
            rows.append((row_no, tckn, contract_no, notified_on))
    except PayrollStructureError as exc:
        print(f"not imported: {exc}")
        return 2
    engine = open_store(args.store)
    with engine.begin() as conn:
        result = import_notices(conn, rows, source=args.source, by=args.by)
    engine.dispose()
    for row_no, why in sorted(refused + result.refused):
        print(f"row {row_no}: not imported: {why}")
    print(f"{result.imported} re-enrolment notice(s) imported from {args.source} by {args.by}, {result.already} already on file, "
          f"{len(refused) + len(result.refused)} refused; the next run re-enrols each person it finds on payroll.")  # fmt: skip
    return 1 if refused or result.refused else 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add this package's sub-commands. Import heavy modules inside the handlers, not here."""
    from oks.cli import parse_date_arg

    p = commands.add_parser(
        "demo-data",
        help="write a deterministic synthetic Turkish payroll with known defects",
        description="Synthetic payroll for a payroll bureau: N employers, M employees, one pay period, "
        "as a payroll database (sqlite), a Turkish CSV export or an Excel workbook. A share of rows "
        "carries exactly one known defect, listed in defects.csv; identity_register.csv holds each "
        "person's true identity for the DES simulator. The same arguments give the same files.",
        epilog="Defects: tckn_checksum, iban_invalid, mobile_landline, birth_date_missing, duplicate_person, "
        "pek_out_of_bounds, contract_unknown; csv/xlsx also date_unparseable, amount_unparseable, key_missing. "
        "identity_mismatch rows are valid but differ from the register.",
    )
    p.add_argument("--employers", type=_count, default=5, metavar="N", help="number of employers (default 5)")
    p.add_argument("--employees", type=_count, default=200, metavar="M", help="number of employees in all (default 200)")
    p.add_argument(
        "--period",
        type=_period,
        default=f"{datetime.now(ISTANBUL):%Y-%m}",
        metavar="YYYY-MM",
        help="pay period (default this month)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed and arguments give the same files (default 0)")
    p.add_argument(
        "--defect-share",
        type=_share,
        default=0.03,
        metavar="SHARE",
        help="share of rows with one planted defect, 0 to 0.5 (default 0.03)",
    )
    p.add_argument(
        "--identity-mismatch-share",
        type=_share,
        default=0.005,
        metavar="SHARE",
        help="share of people whose payroll name or birth date differs from the register, 0 to 0.2 (default 0.005)",
    )
    p.add_argument("--format", choices=_FORMATS, default="sqlite", help="payroll source to write (default sqlite)")
    p.add_argument(
        "--encoding",
        choices=_ENCODINGS,
        default="utf-8-sig",
        help="CSV encoding: utf-8, utf-8-sig (with BOM, as Excel likes) or cp1254 (Windows Turkish); default utf-8-sig",
    )
    p.add_argument("--out", type=Path, default=_default_out(), metavar="DIR", help="output folder (default $OKS_HOME/demo-data)")
    p.add_argument(
        "--chunk-size", type=_count, default=10_000, metavar="ROWS", help="rows held in memory at once (default 10000)"
    )
    p.add_argument(
        "--wage-day", type=parse_date_arg, action="append", metavar="DATE",
        help="a pay day for the contracts, in turn (repeat for several; default: drawn as employers choose them). "
        "Any day validation accepts for the period: a weekend or bayram day shows how the deadline moves",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print manifest.json instead of the summary")
    p.set_defaults(handler=_cmd_demo_data)

    p = commands.add_parser(
        "import-reenrolment", help="import EGM's or an insurer's re-enrolment notices (TCKN, contract, notice day)",
        description="People who opted out or left the plan while still employed are re-enrolled once; EGM or the insurer "
        "names them in a list, and the employer re-enrols them within two months of the notice. Import the list as CSV "
        "(headers: TC Kimlik No / tckn, Sözleşme No / contract_no, Bildirim Tarihi / notified_on); the next run re-enrols "
        "each person it finds on payroll. Rows naming nobody, or someone still enrolled, are refused with their row number.",
    )  # fmt: skip
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--source", default="EGM", help="who sent the list (default EGM)")
    p.add_argument("--by", required=True, metavar="WHO", help="who imports it (kept with each notice)")
    p.add_argument("--store", help="store URL (default: OKS_STORE_URL, the oks_store connection, or the embedded SQLite file)")
    p.set_defaults(handler=_cmd_import_reenrolment)
