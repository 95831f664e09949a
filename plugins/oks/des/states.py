"""The DES resources a wait can be for, and the states after which DES never changes them again."""

from __future__ import annotations

__all__ = ["KINDS", "NOUNS", "FINAL_STATES", "is_final"]

KINDS = ("personnel_list", "payment")
NOUNS = {"personnel_list": "personnel list", "payment": "payment"}  # as people name them in logs and errors

FINAL_STATES: dict[str, frozenset[str]] = {
    "personnel_list": frozenset({"COMPLETED"}),
    "payment": frozenset({"TRANSFERRED", "REJECTED"}),
}
"""States after which DES never changes the resource again: nothing left to wait for."""


def is_final(kind: str, state: str | None) -> bool:
    return state in FINAL_STATES[kind]
