"""The payroll source contract: the columns a payroll export must provide, and how they are spelled.

One row per person, contract, period and payment. Sources (SQL query, CSV, XLSX) may use the canonical
English names below or the Turkish headers payroll products export; both map to the same column.
The contract master (insurer contracts) is a separate file/table, described by ``CONTRACT_COLUMNS``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Column:
    name: str  # canonical, lower-case: the store's column name
    kind: str  # text | int | date | money | rate | bool | period
    required: bool
    turkish: str  # header as Turkish payroll exports write it
    doc: str
    personal: bool = False  # personal data (KVKK): masked wherever shown


PAYROLL_COLUMNS: tuple[Column, ...] = (
    Column("employer_vkn", "text", True, "İşveren VKN", "employer's 10-digit tax number (VKN)"),
    Column("employer_name", "text", True, "İşveren Unvanı", "employer's legal name"),
    Column("employer_sector", "text", False, "Sektör", "private | central_government | local_government (default private)"),
    Column("employer_headcount", "int", False, "Çalışan Sayısı", "whole SGK 4/a headcount of the employer"),
    Column("workplace_sgk_no", "text", False, "İşyeri SGK No", "workplace registration number"),
    Column("payroll_id", "text", True, "Sicil No", "employee's id in payroll, stable across months"),
    Column("tckn", "text", True, "TC Kimlik No", "T.C. identity number", personal=True),
    Column("first_name", "text", True, "Adı", "first name(s) as in the population register", personal=True),
    Column("last_name", "text", True, "Soyadı", "last name as in the population register", personal=True),
    Column("birth_date", "date", True, "Doğum Tarihi", "date of birth"),
    Column("citizenship", "text", True, "Uyruk", "TR | BLUE_CARD | FOREIGN"),
    Column("sgk_status", "text", True, "SGK Statüsü", "4a | 4b | 4c"),
    Column("hire_date", "date", True, "İşe Giriş Tarihi", "start of this employment"),
    Column("exit_date", "date", False, "İşten Çıkış Tarihi", "end of this employment, if it ended"),
    Column("iban", "text", False, "IBAN", "employee's Turkish IBAN", personal=True),
    Column("mobile", "text", False, "Cep Telefonu", "employee's Turkish mobile number", personal=True),
    Column("email", "text", False, "E-posta", "employee's e-mail", personal=True),
    Column("has_oks_certificate", "bool", False, "OKS Belgesi", "holds an OKS certificate in force (Evet/Hayır)"),
    Column("voluntary", "bool", False, "Gönüllü", "over the age limit and asked to join (Evet/Hayır)"),
    Column("contract_no", "text", True, "Sözleşme No", "the insurer contract the person is enrolled under"),
    Column("rate_override", "rate", False, "Katkı Oranı", "person's own rate, as a fraction (0.05) or percent (%5)"),
    Column("amount_override", "money", False, "Katkı Tutarı", "person's own fixed monthly amount"),
    Column("borne_by", "text", False, "Kesinti Kime Ait", "employee | employer: who bears the deduction"),
    Column("period", "period", True, "Dönem", "pay period, YYYY-MM (also 2026/10, 10.2026)"),
    Column("payment_kind", "text", False, "Ödeme Türü", "regular | supplementary (bonus, arrears); default regular"),
    Column("pek", "money", True, "PEK", "SGK prime esas kazanç of this payment"),
    Column("sgk_days", "int", True, "SGK Gün", "premium days, 0-30"),
    Column("wage_paid_on", "date", True, "Ücret Ödeme Tarihi", "day this wage was paid: the deadline is the business day after"),
    Column("fund_preference", "text", False, "Fon Tercihi",
           "the employee's initial fund: faizli (STANDARD) or faizsiz / katılım (PARTICIPATION); empty: the contract's fund kind"),
    Column("payroll_deduction", "money", False, "OKS Kesintisi",
           "the OKS deduction payroll itself computed for this payment, if it has one: every person whose deduction differs "
           "from the contribution sent is flagged"),
)

BY_NAME = {c.name: c for c in PAYROLL_COLUMNS}

DEDUCTION_COLUMNS: tuple[Column, ...] = (
    # The payroll's own keys, spelled as payroll exports them, so payroll matches each row to its line.
    *(replace(BY_NAME[name], required=True, personal=False)
      for name in ("employer_vkn", "payroll_id", "contract_no", "period", "payment_kind", "wage_paid_on")),
    Column("amount", "money", True, "Kesinti Tutarı", "the OKS contribution to deduct (0.00: none this month)"),
    replace(BY_NAME["borne_by"], required=True),
    Column("deduction_kind", "text", True, "Kesinti Türü", "oks_contribution (the employee's OKS katkı payı)"),
    Column("outcome", "text", True, "Sonuç", "the line's outcome: contributed, or why nothing is deducted (inactive, not_eligible, ...)"),
)  # fmt: skip
"""The deduction list back to payroll (docs/payroll-source.md): one row per payroll line of the run,
what to deduct from that payment and who bears it. Payroll ids only: no personal data."""

CONTRACT_COLUMNS: tuple[Column, ...] = (
    Column("contract_no", "text", True, "Sözleşme No", "insurer's contract number, equal to DES's"),
    Column("employer_vkn", "text", True, "İşveren VKN", "employer that signed the contract"),
    Column("insurer", "text", True, "Şirket", "AGESA | ANADOLU | FIBA (DES insurers) or another insurer code"),
    Column("starts_on", "date", True, "Başlangıç Tarihi", "contract start date, as registered on DES"),
    Column("ends_on", "date", False, "Bitiş Tarihi", "contract end date, if any"),
    Column("rate", "rate", False, "Katkı Oranı", "contract default rate (default 3%)"),
    Column("fixed_amount", "money", False, "Katkı Tutarı", "contract default fixed amount instead of a rate"),
    Column("borne_by", "text", False, "Kesinti Kime Ait", "employee (default) | employer"),
    Column("fund_kind", "text", False, "Fon Türü", "fund kind sent with personnel (default STANDARD)"),
    Column("collection_iban", "text", True, "Tahsilat IBAN", "insurer's collection IBAN the money is paid to"),
    Column("bank", "text", False, "Banka", "bank of the collection account"),
    Column("branch", "text", False, "Şube", "branch of the collection account"),
    Column("channel", "text", False, "Kanal", "des / file: how the contract's months reach the insurer; empty: DES for the DES insurers, the insurer's file upload for any other"),
)

REQUIRED = tuple(c.name for c in PAYROLL_COLUMNS if c.required)


def _fold(header: str) -> str:
    # Headers arrive as "TC Kimlik No", "TC KİMLİK NO", "tc_kimlik_no", with or without a BOM.
    table = str.maketrans({"İ": "i", "I": "i", "ş": "s", "Ş": "s", "ğ": "g", "Ğ": "g", "ü": "u", "Ü": "u",
                           "ö": "o", "Ö": "o", "ç": "c", "Ç": "c", "ı": "i"})  # fmt: skip
    text = header.replace("\ufeff", "").strip().translate(table).lower()
    return "".join(ch for ch in text if ch.isalnum())


def header_map(columns: tuple[Column, ...] = PAYROLL_COLUMNS) -> dict[str, str]:
    """Folded header (English or Turkish spelling) → canonical column name."""
    mapping = {}
    for column in columns:
        mapping[_fold(column.name)] = column.name
        mapping[_fold(column.turkish)] = column.name
    return mapping


def canonical(headers: list[str], columns: tuple[Column, ...] = PAYROLL_COLUMNS) -> list[str | None]:
    """Each header's canonical name, or ``None`` for a column the contract does not know (ignored)."""
    mapping = header_map(columns)
    return [mapping.get(_fold(h)) for h in headers]
