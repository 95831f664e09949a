"""`oks` sub-commands of `oks.des`: see `oks.cli.COMMAND_MODULES`."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add this package's sub-commands. Import heavy modules inside the handlers, not here."""
