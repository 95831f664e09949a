"""Insurer profiles: how one insurer's upload files look, kept as data (``profiles/<insurer>.json``).

No insurer publishes its template, so a profile says what its corporate portal's upload screen asks
for — the columns and their order, the header words, date and number spellings, the encoding, CSV or
XLSX, the file name — and a new insurer, or a changed template, is a new or edited file, not code.
An insurer without a file of its own gets ``generic.json``. ``OKS_CHANNEL_PROFILES`` names a folder
whose files take precedence over the shipped ones (a deployment's own profiles).

A profile is checked when it is loaded: a field the canonical record does not have, a date format
that does not read back what it writes, separators that could be mistaken for each other — each is
refused naming the file and the entry, before any file is written with it.
"""

from __future__ import annotations

import json
import os
import re
import string
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from oks.channels.record import FIELDS, PERSONNEL_EVENTS

__all__ = ["FileKind", "FileLayout", "InsurerProfile", "ProfileError", "load_profile", "profile_folders", "safe_name", "SHIPPED"]

SHIPPED = Path(__file__).resolve().parent / "profiles"
FileKind = Literal["personnel", "contribution"]
_FILE_NAME_FIELDS = {"insurer", "contract_no", "period", "kind"}
_SAFE_FILE_NAME = re.compile(r"[A-Za-z0-9_.{}-]+")


def safe_name(text: str) -> str:
    """``text`` as one file or folder name: a contract number with '/' must not become a folder."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


class ProfileError(ValueError):
    """A profile that cannot be used: the message names the file and the entry."""


@dataclass(frozen=True)
class FileLayout:
    columns: tuple[tuple[str, str], ...]  # (record field, header) in the file's order

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(header for _, header in self.columns)


@dataclass(frozen=True)
class InsurerProfile:
    insurer: str
    name: str
    source: str  # the file it was loaded from
    format: Literal["csv", "xlsx"]
    encoding: str
    delimiter: str
    date_format: str
    decimal_separator: str
    thousands_separator: str
    file_name: str  # a template: {insurer} {contract_no} {period} {kind}
    event_names: dict[str, str]  # ENROL/UPDATE/EXIT → the insurer's word for it
    files: dict[str, FileLayout]

    def layout(self, kind: FileKind) -> FileLayout:
        return self.files[kind]

    def file_name_for(self, *, contract_no: str, period: str, kind: FileKind, part: str | None = None) -> str:
        """The file's name; ``part`` tells two files of one kind apart (a supplementary payment's own file)."""
        name = self.file_name.format(insurer=self.insurer, contract_no=contract_no, period=period, kind=kind if part is None else f"{kind}-{part}")
        return safe_name(name)


def profile_folders() -> list[Path]:
    """Where profiles are looked for, first match wins: ``OKS_CHANNEL_PROFILES`` then the shipped ones."""
    own = os.environ.get("OKS_CHANNEL_PROFILES")
    return [Path(own), SHIPPED] if own else [SHIPPED]


def load_profile(insurer: str, folders: list[Path] | None = None) -> InsurerProfile:
    """The profile of ``insurer`` (its own file, else ``generic.json``), checked."""
    folders = folders if folders is not None else profile_folders()
    for name in (f"{insurer.lower()}.json", "generic.json"):
        for folder in folders:
            path = folder / name
            if path.is_file():
                return _parse(path, insurer)
    raise ProfileError(f"no profile for {insurer} and no generic.json in {', '.join(map(str, folders))}")


def _parse(path: Path, insurer: str) -> InsurerProfile:
    where = path.name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ProfileError(f"{where}: not readable as JSON ({exc})") from None

    def need(key: str, default: object = None) -> object:
        value = data.get(key, default)
        if value is None:
            raise ProfileError(f"{where}: '{key}' is missing")
        return value

    fmt = need("format")
    if fmt not in ("csv", "xlsx"):
        raise ProfileError(f"{where}: format {fmt!r}: csv or xlsx")
    encoding = str(need("encoding", "utf-8-sig"))
    try:
        "İşçiğüöÇ".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        raise ProfileError(f"{where}: encoding {encoding!r} cannot write Turkish letters") from None
    decimal_sep, thousands_sep = str(need("decimal_separator", ",")), str(need("thousands_separator", ""))
    if decimal_sep not in (",", ".") or thousands_sep not in ("", ".", ",", " ") or decimal_sep == thousands_sep:
        raise ProfileError(f"{where}: decimal separator {decimal_sep!r} and thousands separator {thousands_sep!r} could be read "
                           "as each other (decimal: ',' or '.'; thousands: none, the other one or a space)")  # fmt: skip
    date_format = str(need("date_format"))
    sample = date(2026, 10, 9)
    try:
        if datetime.strptime(sample.strftime(date_format), date_format).date() != sample:
            raise ValueError
    except ValueError:
        raise ProfileError(f"{where}: date_format {date_format!r} does not read back the dates it writes") from None
    file_name = str(need("file_name"))
    placeholders = {name for _, name, _, _ in string.Formatter().parse(file_name) if name}
    if not placeholders <= _FILE_NAME_FIELDS or not _SAFE_FILE_NAME.fullmatch(file_name) or "{kind}" not in file_name:
        raise ProfileError(f"{where}: file_name {file_name!r}: letters, digits, '_', '-', '.' and "
                           f"{{{'}, {'.join(sorted(_FILE_NAME_FIELDS))}}} with {{kind}} in it")  # fmt: skip
    events = need("event_names", {e: e for e in PERSONNEL_EVENTS})
    if not isinstance(events, dict) or set(events) != PERSONNEL_EVENTS or len(set(events.values())) != len(events):
        raise ProfileError(f"{where}: event_names must name each of {', '.join(sorted(PERSONNEL_EVENTS))}, each differently")
    files = need("files")
    if not isinstance(files, dict) or set(files) != {"personnel", "contribution"}:
        raise ProfileError(f"{where}: files must describe 'personnel' and 'contribution'")
    layouts = {kind: _layout(where, kind, spec) for kind, spec in files.items()}
    return InsurerProfile(
        insurer=insurer.upper(), name=str(data.get("name", insurer)), source=str(path), format=fmt, encoding=encoding,
        delimiter=str(data.get("delimiter", ";")), date_format=date_format, decimal_separator=decimal_sep,
        thousands_separator=thousands_sep, file_name=file_name, event_names={str(k): str(v) for k, v in events.items()},
        files=layouts,
    )  # fmt: skip


def _layout(where: str, kind: str, spec: object) -> FileLayout:
    columns = spec.get("columns") if isinstance(spec, dict) else None
    if not isinstance(columns, list) or not columns:
        raise ProfileError(f"{where}: files.{kind}.columns: a list of [field, header]")
    pairs = []
    for i, entry in enumerate(columns, start=1):
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) and x.strip() for x in entry)):
            raise ProfileError(f"{where}: files.{kind}.columns[{i}]: [field, header], both text")
        field, header = entry[0], entry[1].strip()
        if field not in FIELDS:
            raise ProfileError(f"{where}: files.{kind}.columns[{i}]: {field!r} is not a field of the submission record")
        pairs.append((field, header))
    for what, values in (("field", [f for f, _ in pairs]), ("header", [h.casefold() for _, h in pairs])):
        if len(set(values)) != len(values):
            raise ProfileError(f"{where}: files.{kind}: a {what} appears twice")
    if kind == "contribution" and "amount" not in {f for f, _ in pairs}:
        raise ProfileError(f"{where}: files.contribution has no amount column")
    if "tckn" not in {f for f, _ in pairs}:
        raise ProfileError(f"{where}: files.{kind} has no tckn column: the insurer could not tell people apart")
    return FileLayout(tuple(pairs))
