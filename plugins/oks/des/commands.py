"""`oks` sub-commands of `oks.des`: see `oks.cli.COMMAND_MODULES`."""

from __future__ import annotations

import argparse
from pathlib import Path


def _customer(text: str):
    from oks.des.simulator.schemas import CustomerSeed

    customer_no, sep1, rest = text.partition(":")
    tckn, sep2, password = rest.partition(":")
    if not (sep1 and sep2 and customer_no and tckn and password):
        raise argparse.ArgumentTypeError("use MHN:TCKN:PASSWORD")
    try:
        return CustomerSeed(customer_no=customer_no, tckn=tckn, password=password)
    except ValueError:
        raise argparse.ArgumentTypeError("MHN:TCKN:PASSWORD with an 11-digit TCKN") from None


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a share between 0 and 1")
    return value


def _cmd_simulator(args: argparse.Namespace) -> int:
    import logging
    import time

    from oks.des.simulator.faults import FaultConfig
    from oks.des.simulator.server import DEMO_CUSTOMER, SimulatorOptions, default_db_path, serve

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    now = time.time()
    faults = FaultConfig(
        error_rate=args.error_rate,
        lost_response_rate=args.lost_response_rate,
        rate_limit_every=args.rate_limit_every,
        retry_after=args.retry_after,
        latency=args.latency,
        hang_rate=args.hang_rate,
        hang_seconds=args.hang_seconds,
        outage_from=now + args.outage_after if args.outage_for else 0.0,
        outage_until=now + args.outage_after + args.outage_for if args.outage_for else 0.0,
        path_contains=args.fault_path,
        seed=args.seed,
    ).validate()
    serve(
        SimulatorOptions(
            db=args.db or default_db_path(),
            host=args.host,
            port=args.port,
            customers=args.customer or [DEMO_CUSTOMER],
            insurer_delay=args.insurer_delay,
            transfer_delay=args.transfer_delay if args.transfer_delay is not None else args.insurer_delay,
            token_ttl=args.token_ttl,
            faults=faults,
            identity_register=args.identity_register,
            ready_file=args.ready_file,
            access_log=args.access_log,
            log_level=args.log_level,
        )
    )
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add this package's sub-commands. Import heavy modules inside the handlers, not here."""
    p = commands.add_parser(
        "simulator",
        help="run the DES simulator (the gateway contract on loopback, for tests and demos)",
        description="Serves the DES gateway contract (GET /openapi.yaml) with three insurers (AGESA, ANADOLU, "
        "FIBA), state kept in a SQLite file, and fault injection. Control endpoints under /_control are for "
        "tests and demos only. Settings left out keep what the state file holds.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; keep it on loopback)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--db", type=Path, metavar="FILE", help="state file (default $OKS_HOME/des-simulator.sqlite)")
    p.add_argument(
        "--customer", type=_customer, action="append", metavar="MHN:TCKN:PASSWORD",
        help="a DES customer that may log in (repeatable; default the demo customer 1000001)",
    )
    p.add_argument("--insurer-delay", type=float, metavar="SECONDS", help="how long insurers take to answer a list (default 30)")
    p.add_argument("--transfer-delay", type=float, metavar="SECONDS", help="how long a payment takes to be transferred (default: the insurer delay)")
    p.add_argument("--token-ttl", type=float, metavar="SECONDS", help="lifetime of a token (default 3600)")
    p.add_argument("--identity-register", type=Path, metavar="CSV", help="identity_register.csv (tckn, first_name, last_name, birth_date)")
    faults = p.add_argument_group("fault injection")
    faults.add_argument("--error-rate", type=_share, default=0.0, metavar="SHARE", help="share of requests answered 5xx unprocessed")
    faults.add_argument("--lost-response-rate", type=_share, default=0.0, metavar="SHARE", help="share of POST/PUT applied, then answered 502")
    faults.add_argument("--rate-limit-every", type=int, default=0, metavar="N", help="answer every N-th request 429 (N >= 2)")
    faults.add_argument("--retry-after", type=float, default=1.0, metavar="SECONDS", help="Retry-After of those 429s (default 1)")
    faults.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="hold every answer this long")
    faults.add_argument("--hang-rate", type=_share, default=0.0, metavar="SHARE", help="share of answers held --hang-seconds")
    faults.add_argument("--hang-seconds", type=float, default=30.0, metavar="SECONDS", help="how long a hanging answer is held")
    faults.add_argument("--outage-after", type=float, default=0.0, metavar="SECONDS", help="start an outage this long after start-up")
    faults.add_argument("--outage-for", type=float, default=0.0, metavar="SECONDS", help="length of that outage (0: none)")
    faults.add_argument("--fault-path", metavar="TEXT", help="inject faults only into requests whose path contains TEXT")
    faults.add_argument("--seed", type=int, help="random seed for reproducible faults")
    p.add_argument("--ready-file", type=Path, metavar="FILE", help="write the URL here once serving (for scripts)")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    p.set_defaults(handler=_cmd_simulator)
