"""The logins of a one-machine Airflow UI (``oks ui``): real users with roles, their passwords and the
token-signing secret generated once per Airflow home into files only their owner can read.

Roles (Airflow's simple auth manager):

- ``viewer`` (role *viewer*): reads DAGs, runs, logs, the OKS reports;
- ``ops`` (role *user*): also triggers runs and answers the approvals — bank transfers and
  corrections are assigned to the approvers in ``OKS_APPROVERS`` (``ops`` here);
- ``admin`` (role *admin*): also changes connections, variables and pools.

Production runs the FAB auth manager or the organisation's SSO instead (docs/operations.md).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LocalLogins", "local_logins", "ROLES"]

ROLES = {"admin": "admin", "ops": "user", "viewer": "viewer"}
APPROVERS = "ops"


@dataclass(frozen=True)
class LocalLogins:
    passwords_file: Path
    created: bool  # True the first time: the passwords are shown once, then only the file has them
    passwords: dict[str, str]
    jwt_secret: str

    def environment(self) -> dict[str, str]:
        """What Airflow's processes need to run with these logins (where they listen is the caller's:
        ``LocalAirflow`` for ``oks ui``, ``ApiServer`` for ``oks run-month``)."""
        return {
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{user}:{role}" for user, role in ROLES.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "OKS_APPROVERS": APPROVERS,
        }


def _private(path: Path, text: str) -> None:
    # Created readable by the owner only, before anything is written into it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def local_logins(airflow_home: Path) -> LocalLogins:
    """The home's logins, generated on first use (every user missing from the file gets a password)."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    passwords_file = airflow_home / "oks_ui_passwords.json"
    secret_file = airflow_home / "oks_ui_jwt_secret"
    passwords = json.loads(passwords_file.read_text(encoding="utf-8")) if passwords_file.exists() else {}
    created = any(user not in passwords for user in ROLES)
    if created:
        passwords = {**{user: secrets.token_urlsafe(12) for user in ROLES}, **passwords}
        _private(passwords_file, json.dumps(passwords) + "\n")
    if not secret_file.exists():
        _private(secret_file, secrets.token_urlsafe(48))
    os.chmod(passwords_file, 0o600)
    return LocalLogins(passwords_file, created, passwords, secret_file.read_text(encoding="utf-8").strip())
