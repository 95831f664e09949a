"""The enrolment state machine's cases, shared by the rule tests and the store's enrolment tests:
event arguments that make any event well-formed, and the table of legal transitions.

A plain module, not a test module: test modules are never imported by other modules.
"""

from __future__ import annotations

from datetime import date

ON = date(2026, 10, 15)
# Enough for any event to be well-formed, so legality alone decides.
ARGS = dict(effective_on=ON, policy_no="POL-1", reason="IDENTITY_MISMATCH", paused_until=date(2026, 12, 15))

LEGAL = {
    ("pending", "SUBMIT"): "submitted",
    ("submitted", "ENROL"): "enrolled",
    ("submitted", "REJECT"): "rejected",
    ("rejected", "RESUBMIT"): "pending",
    ("enrolled", "NOTIFY"): "enrolled",
    ("enrolled", "UPDATE"): "enrolled",
    ("paused", "UPDATE"): "paused",
    ("pending", "OPT_OUT"): "opted_out",  # the insurer's own word, before its policy number reached us
    ("submitted", "OPT_OUT"): "opted_out",
    ("enrolled", "OPT_OUT"): "opted_out",
    ("paused", "OPT_OUT"): "opted_out",
    ("enrolled", "PAUSE"): "paused",
    ("paused", "PAUSE"): "paused",
    ("paused", "RESUME"): "enrolled",
    ("enrolled", "LEAVE"): "left",
    ("paused", "LEAVE"): "left",
    ("pending", "CANCEL"): "left",
    ("submitted", "CANCEL"): "left",
    ("enrolled", "CANCEL"): "left",
    ("paused", "CANCEL"): "left",
    ("opted_out", "RE_ENROL"): "pending",
    ("left", "RE_ENROL"): "pending",
}
