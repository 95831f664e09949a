"""Run the ``oks`` command with the clock set to another moment: ``python -m tests.frozen_clock MOMENT ARGS…``.

The process's clock starts at MOMENT (ISO, with its offset) and keeps ticking from there, so Airflow's
scheduling loop, tokens and timeouts behave as on that day. Used by the tests that run the main job on
chosen days (1 January, Christmas, a bayram, a month's last day) — never the machine's own date.
"""

from __future__ import annotations

import sys
from datetime import datetime

import time_machine


def main(argv: list[str]) -> int:
    moment, *args = argv
    with time_machine.travel(datetime.fromisoformat(moment), tick=True):
        from oks.cli import main as oks

        return oks(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
