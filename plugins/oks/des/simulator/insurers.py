"""The three insurers DES relays to, as the simulator plays them.

Defined here, not imported from the client, so that the test double and the product each read the
contract on their own and a misreading shows up as a failing test instead of agreeing silently.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Insurer:
    code: str
    name: str
    ws_fields: tuple[str, ...]
    policy_prefix: str


INSURERS = {
    "AGESA": Insurer("AGESA", "AgeSA", ("user", "password"), "AGS"),
    "ANADOLU": Insurer("ANADOLU", "Anadolu Hayat", ("user", "password", "client_id", "client_secret"), "AHE"),
    "FIBA": Insurer("FIBA", "HDI Fiba Emeklilik", ("user", "password"), "FBE"),
}
ALL_WS_FIELDS = ("user", "password", "client_id", "client_secret")
