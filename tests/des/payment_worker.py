"""A client in its own process, submitting one payment (the SIGKILL test kills it mid-request).

Run as ``python -m tests.des.payment_worker JOB.json`` from the repository root.
"""

from __future__ import annotations

import json
import sys
from datetime import date

from oks.des.client import DesClient
from oks.des.ledger import Ledger
from oks.des.models import PaymentItem
from oks.des.settings import DesSettings
from oks.store import create_store_engine


def main(job_path: str) -> int:
    job = json.loads(open(job_path, encoding="utf-8").read())
    settings = DesSettings(**job["settings"])
    engine = create_store_engine(job["ledger_url"])
    items = [PaymentItem(tckn=t, policy_no=p, amount=a) for t, p, a in job["items"]]
    with DesClient(settings, ledger=Ledger(engine)) as client:
        submission = client.submit_payment(job["contract_no"], job["period"], "REGULAR", date.fromisoformat(job["wage_paid_on"]), items)
    print(submission.payment_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
