"""The DES resources a wait can be for, and the states after which DES never changes them again."""

from __future__ import annotations

__all__ = ["KINDS", "FINAL_STATES", "is_final"]

KINDS = ("personnel_list", "payment")

FINAL_STATES: dict[str, frozenset[str]] = {
    "personnel_list": frozenset({"COMPLETED"}),
    "payment": frozenset({"TRANSFERRED", "REJECTED"}),
}
"""States after which DES never changes the resource again: nothing left to wait for."""


def is_final(kind: str, state: str | None) -> bool:
    return state in FINAL_STATES[kind]
