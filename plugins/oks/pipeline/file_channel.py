"""Pipeline step: a file-channel contract's month written to the outbox (docs/channels.md).

For a contract whose month goes by the insurer's own upload, the run writes what DES would have
carried — the personnel list (ENROL, UPDATE, EXIT: the same people the DES list would hold) and the
contribution file (one row per person and payment kind) — as canonical records rendered by the
insurer's profile, into ``outbox/<contract>/<period>/``. Both are recorded in the request ledger; the
payment through the once-a-month guard, before its file is written, so a month DES holds never gets
a file. A re-run writes the same files and finds the same ledger entries.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from oks.channels.files import write_file
from oks.channels.profiles import load_profile, safe_name
from oks.channels.record import SubmissionRecord
from oks.pipeline.deadline_watch import Sender, announce_payment_instructions
from oks.pipeline.obligations import record_payment_obligations
from oks.pipeline.submission import contract_batches, payment_items, personnel_list
from oks.privacy import mask_tckn
from oks.rules.calendar import ISTANBUL
from oks.store.channels import ChannelRefused, channel_of, files_to_upload, record_file_list, record_file_payment
from oks.store.enrolments import EventSpec, apply_events, enrolments_by_tckn
from oks.store.schema import contracts, employers, enrolments, runs

__all__ = ["outbox_folder", "write_contract_files", "write_insurer_files", "plan_file_batches", "plan_upload_confirmations",
           "PolicyAnswer", "record_policy_numbers"]

# Payroll id and why the person is in the plan (the contribution's reason), per TCKN of the contract's run.
_LINES = sa.text(
    """
    SELECT e.tckn, p.payroll_id, k.reason, e.first_name, e.last_name, e.birth_date, e.hire_date
    FROM contributions k
    JOIN payroll_lines p ON p.id = k.payroll_line_id
    JOIN enrolments en ON en.id = k.enrolment_id
    JOIN employees e ON e.id = en.employee_id
    JOIN contracts c ON c.id = k.contract_id
    WHERE k.run_id = :run_id AND c.contract_no = :contract_no AND k.outcome = 'contributed'
    ORDER BY p.row_no
    """
).columns(birth_date=sa.Date, hire_date=sa.Date)


def _digest(records: list[SubmissionRecord]) -> str:
    text = json.dumps([[str(v) for v in vars(r).values()] for r in records], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def outbox_folder(outbox: Path, contract_no: str, period: str) -> Path:
    """Where a contract's files of a period are written (a contract number with '/' stays one folder)."""
    return outbox / safe_name(contract_no) / period


def write_insurer_files(engine: Engine, run_id: int, contracts: Sequence[str], *, outbox: Path,
                        senders: Mapping[str, Sender] | None = None) -> list[int]:  # fmt: skip
    """The file channel's part of a run, for its contracts: each one's files into the outbox, then its
    payment obligations (the transfer is due as by DES: the business day after the wage day) and the
    instructions to operations. The obligation ids."""
    obligations: list[int] = []
    for contract_no in contracts:
        write_contract_files(engine, run_id, contract_no, outbox=outbox)
        instructions = record_payment_obligations(engine, run_id, contract_no=contract_no)
        announce_payment_instructions(engine, instructions, senders or {})
        obligations += [i.obligation_id for i in instructions]
    return obligations


def write_contract_files(engine: Engine, run_id: int, contract_no: str, *, outbox: Path) -> dict[str, object]:
    """Write the contract's personnel list and contribution file for the run's period into the outbox;
    refused (:class:`ChannelRefused`) for a month that goes by DES or that DES already paid."""
    with engine.connect() as conn:
        period, dry_run = conn.execute(sa.select(runs.c.period, runs.c.dry_run).where(runs.c.id == run_id)).one()
        channel = channel_of(conn, contract_no, period)
        if channel != "file":
            raise ChannelRefused(f"contract {contract_no} {period} goes by DES: nothing to write (`oks channel switch` if DES is down)")
        contract = conn.execute(
            sa.select(contracts.c.insurer, employers.c.vkn, employers.c.name)
            .join(employers, employers.c.id == contracts.c.employer_id).where(contracts.c.contract_no == contract_no)
        ).one()  # fmt: skip
        people_rows, listed = personnel_list(conn, run_id, contract_no, period)
        lines = {r.tckn: r for r in conn.execute(_LINES, {"run_id": run_id, "contract_no": contract_no})}
        items = payment_items(conn, run_id, contract_no)
    profile = load_profile(contract.insurer)
    wage_day = min((i.wage_paid_on for i in items), default=None)

    def record(tckn: str, **event) -> SubmissionRecord:
        line = lines[tckn]
        return SubmissionRecord(
            employer_vkn=contract.vkn, employer_name=contract.name, contract_no=contract_no, insurer=contract.insurer,
            pay_period=period, deduction_date=event.pop("deduction_date", wage_day), payroll_id=line.payroll_id, tckn=tckn,
            first_name=line.first_name, last_name=line.last_name, birth_date=line.birth_date, hire_date=line.hire_date,
            assessment_code=line.reason, **event,
        )  # fmt: skip

    people = [
        record(p.tckn, event_code=p.action, event_date=p.exit_date or wage_day, mobile=p.mobile, email=p.email, iban=p.iban,
               fund_kind=p.fund_kind, exit_date=p.exit_date)  # fmt: skip
        for _, p in listed
        if p.tckn in lines
    ]
    paid = [
        record(i.tckn, event_code="CONTRIBUTION", event_date=i.wage_paid_on, deduction_date=i.wage_paid_on,
               payment_kind=i.payment_kind, amount=Decimal(i.amount))  # fmt: skip
        for i in items
    ]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for r in paid:
        totals[r.payment_kind] += r.amount or Decimal("0")
    folder = outbox_folder(outbox, contract_no, period)
    written: dict[str, object] = {"contract_no": contract_no, "channel": "file", "insurer": contract.insurer, "people": len(people),
                                  "payments": {k: str(v) for k, v in sorted(totals.items())}}  # fmt: skip
    if dry_run:
        return {**written, "dry_run": True}
    with engine.begin() as conn:
        # The guard first: a refused payment leaves no file behind to be uploaded by mistake.
        for kind in sorted(totals):
            part = None if kind == "regular" else kind  # each payment its own file: a bonus is uploaded apart
            name = profile.file_name_for(contract_no=contract_no, period=period, kind="contribution", part=part)
            of_kind = [r for r in paid if r.payment_kind == kind]
            record_file_payment(conn, contract_no=contract_no, period=period, payment_kind=kind, file_name=name,
                                content_hash=_digest(of_kind), run_id=run_id)  # fmt: skip
            path = write_file(of_kind, profile, "contribution", folder=folder, contract_no=contract_no, period=period, part=part)
            written.setdefault("contribution_files", {})[kind] = str(path)  # type: ignore[index]
        if people:
            path = write_file(people, profile, "personnel", folder=folder, contract_no=contract_no, period=period)
            record_file_list(conn, contract_no=contract_no, period=period, file_name=path.name, content_hash=_digest(people), run_id=run_id)
            written["personnel_file"] = str(path)
            today = datetime.now(ISTANBUL).date()
            pending = [r.enrolment_id for r in people_rows if r.state == "pending"]
            apply_events(conn, [EventSpec(e, "SUBMIT", "payroll", f"file:{path.name}", today) for e in pending])
    return written


def plan_file_batches(engine: Engine, run_id: int, batch_size: int) -> list[dict]:
    """The contracts whose month goes by file and has work, in batches; none for a dry run."""
    return contract_batches(engine, run_id, "file", batch_size)


def plan_upload_confirmations(engine: Engine, run_id: int, *, outbox: Path) -> list[dict[str, object]]:
    """One upload confirmation per contract of the run with files waiting: which files, where, to whom."""
    with engine.connect() as conn:
        waiting = files_to_upload(conn, run_id=run_id)
        insurers = dict(conn.execute(sa.select(contracts.c.contract_no, contracts.c.insurer)).all()) if waiting else {}
    by_contract: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in waiting:
        by_contract[(row.contract_no, row.period)].append(row.file_name)
    requests: list[dict[str, object]] = []
    for (contract_no, period), names in sorted(by_contract.items()):
        folder = outbox_folder(outbox, contract_no, period)
        listed = "\n".join(f"- `{folder / name}`" for name in names)
        requests.append({
            "contract_no": contract_no, "period": period,
            "subject": f"Upload {len(names)} file(s) of {contract_no} ({period}) to {insurers.get(contract_no, 'the insurer')}'s portal",
            "body": f"Upload these files to the insurer's corporate portal, then approve:\n\n{listed}\n\n"
                    "Reject if they cannot be uploaded: on-call is paged, and the month is not with the insurer. "
                    f"A shell may answer instead: `oks confirm-upload --contract {contract_no} --period {period} --by <who>`.",
        })  # fmt: skip
    return requests


@dataclass(frozen=True)
class PolicyAnswer:
    row_no: int
    tckn: str
    policy_no: str


def record_policy_numbers(engine: Engine, contract_no: str, answers: Sequence[PolicyAnswer]) -> dict[str, object]:
    """The insurer's answer to a file-channel personnel list — each person's policy number, entered by
    operations or read from the insurer's answer file — applied as the insurer's ENROL, once. A TCKN
    the contract does not wait for is refused by row (masked), never guessed."""
    today = datetime.now(ISTANBUL).date()
    refused: list[tuple[int, str]] = []
    with engine.begin() as conn:
        waiting = enrolments_by_tckn(conn, contract_no, enrolments.c.state.in_(("pending", "submitted")))
        known = enrolments_by_tckn(conn, contract_no)
        specs = []
        for a in answers:
            if a.tckn in waiting:
                specs.append(EventSpec(waiting[a.tckn], "ENROL", "insurer", f"file-answer:{contract_no}:{a.tckn}", today, policy_no=a.policy_no))
            elif a.tckn not in known:
                refused.append((a.row_no, f"{mask_tckn(a.tckn)} has no enrolment under contract {contract_no}"))
        outcome = apply_events(conn, specs)
    rows = {f"file-answer:{contract_no}:{a.tckn}": a.row_no for a in answers}
    refused += [(rows[spec.event_key], f"not applied: {why}") for spec, why in outcome.refused]
    enrolled = sum(1 for event in outcome.applied if event.changed)
    return {"contract_no": contract_no, "enrolled": enrolled, "already": len(answers) - enrolled - len(refused), "refused": refused}
