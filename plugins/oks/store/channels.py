"""Channels in the store (docs/channels.md): which channel carries a contract's month, the operator's
switches, and the once-a-month guard across channels, read from the one request ledger
(``des_requests``) both channels write: a DES payment is kind ``payment``, a file payment kind
``file_payment``; a row DES refused (``failed``) holds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from oks.rules.channels import Channel, default_channel, payment_refusal, switch_refusal
from oks.store.schema import channel_switches, contracts, des_requests

__all__ = ["FILE_PAYMENT", "ChannelRefused", "Switch", "payment_holder", "channel_of", "channels_of", "switch_channel", "record_file_payment",
           "FILE_PERSONNEL_LIST", "record_file_list", "files_to_upload", "confirm_upload"]

FILE_PAYMENT = "file_payment"
FILE_PERSONNEL_LIST = "file_personnel_list"
_HOLDING_KINDS = {"payment": "des", FILE_PAYMENT: "file"}


class ChannelRefused(ValueError):
    """A switch or a payment the once-a-month guard refuses; the message says why."""


@dataclass(frozen=True)
class Switch:
    id: int
    contract_no: str
    period: str
    channel: Channel
    switched_by: str
    reason: str


def payment_holder(conn: Connection, contract_no: str, period: str, payment_kind: str = "REGULAR") -> Channel | None:
    """The channel that holds the month's payment of that kind, if one does."""
    kinds = conn.execute(
        sa.select(des_requests.c.kind).where(
            des_requests.c.contract_no == contract_no, des_requests.c.period == period,
            sa.func.upper(des_requests.c.payment_kind) == payment_kind.upper(),
            des_requests.c.kind.in_(list(_HOLDING_KINDS)), des_requests.c.state != "failed",
        )
    ).scalars().all()  # fmt: skip
    holders = {_HOLDING_KINDS[k] for k in kinds}
    if len(holders) > 1:  # the guard exists so that this never happens: say so loudly
        raise ChannelRefused(f"contract {contract_no} {period}: the {payment_kind} payment is held by both DES and a file")
    return holders.pop() if holders else None  # type: ignore[return-value]


def _contract(conn: Connection, contract_no: str):
    row = conn.execute(
        sa.select(contracts.c.id, contracts.c.insurer, contracts.c.channel).where(contracts.c.contract_no == contract_no)
    ).one_or_none()
    if row is None:
        raise ChannelRefused(f"no contract {contract_no} in the store")
    return row


def channel_of(conn: Connection, contract_no: str, period: str) -> Channel:
    """The latest operator switch of the contract's month, else the contract master's channel, else the
    insurer's default."""
    contract = _contract(conn, contract_no)
    switched = conn.execute(
        sa.select(channel_switches.c.channel)
        .where(channel_switches.c.contract_id == contract.id, channel_switches.c.period == period)
        .order_by(channel_switches.c.id.desc()).limit(1)
    ).scalar_one_or_none()  # fmt: skip
    return switched or contract.channel or default_channel(contract.insurer)  # type: ignore[return-value]


def channels_of(conn: Connection, contract_nos: list[str], period: str) -> dict[str, Channel]:
    """:func:`channel_of` for many contracts in two queries (a bureau's month has thousands)."""
    configured = {r.contract_no: r.channel or default_channel(r.insurer)
                  for r in conn.execute(sa.select(contracts.c.contract_no, contracts.c.insurer, contracts.c.channel))}  # fmt: skip
    switched: dict[str, str] = {}
    for contract_no, channel in conn.execute(
        sa.select(contracts.c.contract_no, channel_switches.c.channel)
        .join(contracts, contracts.c.id == channel_switches.c.contract_id)
        .where(channel_switches.c.period == period).order_by(channel_switches.c.id)
    ):  # fmt: skip
        switched[contract_no] = channel  # the latest wins
    return {n: switched.get(n) or configured[n] for n in contract_nos}  # type: ignore[misc]


def switch_channel(conn: Connection, *, contract_no: str, period: str, to: str, by: str, reason: str) -> Switch:
    """Move a contract's month to channel ``to``, recorded with who and why; refused (with the reason)
    when the other channel already holds the month's REGULAR payment."""
    if not by.strip() or not reason.strip():
        raise ChannelRefused("a switch needs who makes it and why")
    contract = _contract(conn, contract_no)
    refusal = switch_refusal(insurer=contract.insurer, to=to, holder=payment_holder(conn, contract_no, period))
    if refusal:
        raise ChannelRefused(f"contract {contract_no} {period} stays on {channel_of(conn, contract_no, period).upper()}: {refusal}")
    new_id = conn.execute(
        sa.insert(channel_switches).values(contract_id=contract.id, period=period, channel=to, switched_by=by.strip(),
                                           reason=reason.strip()[:300])
    ).inserted_primary_key[0]  # fmt: skip
    return Switch(new_id, contract_no, period, to, by.strip(), reason.strip()[:300])  # type: ignore[arg-type]


def record_file_payment(conn: Connection, *, contract_no: str, period: str, payment_kind: str, file_name: str, content_hash: str,
                        run_id: int | None = None) -> int:  # fmt: skip
    """Record, in the request ledger, a payment written to the outbox as the insurer's file — once:
    the same content again is the same entry (a re-run rewrites the same file); a REGULAR payment DES
    already holds, or other content for a month a file already holds, is refused."""
    kind = payment_kind.upper()
    refusal = payment_refusal(channel="file", payment_kind=kind, holder=payment_holder(conn, contract_no, period, kind))
    if refusal:
        raise ChannelRefused(f"contract {contract_no} {period}: {refusal}")
    key = f"file-payment:{contract_no}:{period}:{kind}"
    held = conn.execute(sa.select(des_requests.c.id, des_requests.c.content_hash).where(des_requests.c.idempotency_key == key)).one_or_none()
    if held is not None:
        if held.content_hash != content_hash:
            raise ChannelRefused(f"contract {contract_no} {period}: the {kind} file payment is already written with other "
                                 "amounts; a difference goes as a correction, never as a second payment")  # fmt: skip
        return held.id
    return conn.execute(
        sa.insert(des_requests).values(kind=FILE_PAYMENT, contract_no=contract_no, period=period, payment_kind=kind,
                                       idempotency_key=key, content_hash=content_hash, des_id=file_name, state="recorded",
                                       run_id=run_id)
    ).inserted_primary_key[0]  # fmt: skip


def record_file_list(conn: Connection, *, contract_no: str, period: str, file_name: str, content_hash: str, run_id: int | None = None) -> int:
    """Record, in the request ledger, a personnel list written to the outbox as the insurer's file;
    the same content again is the same entry."""
    key = f"file-personnel:{contract_no}:{period}:{content_hash[:32]}"
    held = conn.execute(sa.select(des_requests.c.id).where(des_requests.c.idempotency_key == key)).scalar_one_or_none()
    if held is not None:
        return held
    return conn.execute(
        sa.insert(des_requests).values(kind=FILE_PERSONNEL_LIST, contract_no=contract_no, period=period, idempotency_key=key,
                                       content_hash=content_hash, des_id=file_name, state="recorded", run_id=run_id)
    ).inserted_primary_key[0]  # fmt: skip


_FILE_KINDS = (FILE_PAYMENT, FILE_PERSONNEL_LIST)


def files_to_upload(conn: Connection, *, run_id: int | None = None, contract_no: str | None = None, period: str | None = None) -> list[sa.Row]:
    """Files written to the outbox and not yet confirmed uploaded (contract, period, kind, payment
    kind, file name), of a run or of a contract's month."""
    where = [des_requests.c.kind.in_(_FILE_KINDS), des_requests.c.state == "recorded"]
    if run_id is not None:
        where.append(des_requests.c.run_id == run_id)
    if contract_no is not None:
        where += [des_requests.c.contract_no == contract_no, des_requests.c.period == period]
    return list(conn.execute(
        sa.select(des_requests.c.contract_no, des_requests.c.period, des_requests.c.kind, des_requests.c.payment_kind,
                  des_requests.c.des_id.label("file_name"))
        .where(*where).order_by(des_requests.c.contract_no, des_requests.c.period, des_requests.c.id)
    ))  # fmt: skip


def confirm_upload(conn: Connection, *, contract_no: str, period: str) -> int:
    """Operations uploaded the contract's files of the month to the insurer's portal: they are sent.
    The number of files confirmed (0: none was waiting)."""
    return conn.execute(
        sa.update(des_requests)
        .where(des_requests.c.kind.in_(_FILE_KINDS), des_requests.c.state == "recorded", des_requests.c.contract_no == contract_no,
               des_requests.c.period == period)
        .values(state="sent", updated_at=sa.func.current_timestamp())
    ).rowcount  # fmt: skip
