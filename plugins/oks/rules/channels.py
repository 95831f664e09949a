"""Which channel carries a contract's month to its insurer, and the once-a-month guard across them
(docs/channels.md).

DES reaches three insurers; any other takes its files by upload (the file channel). A DES contract's
month may be switched to the file channel by an operator — DES down on the due day — and back, but
never once a REGULAR payment of that month is held by the other channel: Luca's DES guide warns that
a month sent one way must never be sent again another way (Excel upload, manual entry).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Channel", "CHANNELS", "DES_INSURERS", "default_channel", "switch_refusal", "payment_refusal"]

Channel = Literal["des", "file"]
CHANNELS: tuple[Channel, ...] = ("des", "file")
DES_INSURERS = ("AGESA", "ANADOLU", "FIBA")


def default_channel(insurer: str) -> Channel:
    """DES for the insurers DES reaches, the file channel for every other."""
    return "des" if insurer in DES_INSURERS else "file"


def switch_refusal(*, insurer: str, to: str, holder: str | None) -> str | None:
    """Why a contract's month may not move to channel ``to`` (None: it may). ``holder`` is the
    channel that already holds the month's REGULAR payment, if any."""
    if to not in CHANNELS:
        return f"no channel {to!r} (des or file)"
    if to == "des" and insurer not in DES_INSURERS:
        return f"{insurer} does not take OKS data through DES (DES insurers: {', '.join(DES_INSURERS)})"
    if holder is not None and holder != to:
        return (f"the month's REGULAR payment is already held by {holder.upper()}: a second one by {to.upper()} would pay "
                "the month twice")  # fmt: skip
    return None


def payment_refusal(*, channel: str, payment_kind: str, holder: str | None) -> str | None:
    """Why a payment of ``payment_kind`` may not be made through ``channel`` (None: it may): a REGULAR
    payment already held by the other channel."""
    if payment_kind.upper() == "REGULAR" and holder is not None and holder != channel:
        return f"the month's REGULAR payment is already held by {holder.upper()}: never a second one by {channel.upper()}"
    return None
