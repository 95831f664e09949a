"""Masks keep values apart for a colleague but never let the value be rebuilt (KVKK)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oks.privacy import mask_email, mask_field, mask_iban, mask_name, mask_phone, mask_tckn


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        (mask_tckn, "17291716060", "172******60"),
        (mask_tckn, None, ""),
        (mask_iban, "TR33 0006 1005 1978 6457 8413 26", "TR33********************26"),
        (mask_phone, "+905321234567", "+90********67"),
        (mask_phone, "0532 123 45 67", "05*******67"),
        (mask_name, "Ayşe Nur Yılmaz", "A*** N** Y*****"),
        (mask_email, "ayse.yilmaz@example.com", "a**********@e******.com"),
        (mask_email, "not-an-email", "n***********"),
        (mask_tckn, "123", "***"),  # too short to show ends
    ],
)
def test_masks(mask, value, expected):
    assert mask(value) == expected


def test_mask_field_masks_personal_fields_only():
    assert mask_field("tckn", "17291716060") == "172******60"
    assert mask_field("pek", "33030.00") == "33030.00"


@given(st.text(alphabet="0123456789", min_size=6, max_size=30))
def test_masked_digits_hide_most_of_the_value(digits):
    for mask in (mask_tckn, mask_phone, mask_iban):
        masked = mask(digits)
        assert digits not in masked
        assert sum(c != "*" for c in masked) <= 6


def test_redact_masks_identifiers_in_foreign_text():
    from oks.privacy import redact

    text = 'IntegrityError [parameters: {"tckn": "17291716060", "iban": "TR33 0006 1005 1978 6457 8413 26", "m": "0532 123 45 67"}]'
    cleaned = redact(text)
    for value in ("17291716060", "TR33 0006 1005 1978 6457 8413 26", "0532 123 45 67"):
        assert value not in cleaned
    assert "172******60" in cleaned and "row 1234" in redact("row 1234")  # short numbers stay readable
    assert len(redact("x" * 500, 50)) == 50


def test_store_errors_do_not_echo_the_row(tmp_path):
    import sqlalchemy as sa

    from oks.store import open_store
    from oks.store.schema import employers

    engine = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    with engine.begin() as conn:
        conn.execute(sa.insert(employers).values(vkn="1234567890", name="Ayşe Yılmaz Ltd"))
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(employers).values(vkn="1234567890", name="Ayşe Yılmaz Ltd"))
    except sa.exc.IntegrityError as exc:
        assert "Ayşe" not in str(exc) and "1234567890" not in str(exc)
    else:
        raise AssertionError("a duplicate VKN must be refused")
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("text", "known", "gone"),
    [
        ("Ad Soyad AYŞE ÇAĞLAR nüfus kaydı ile uyuşmuyor", ("Ayşe", "Çağlar"), ("AYŞE", "ÇAĞLAR")),
        ("İSMAİL IŞIK: kayıt bulunamadı", ("İsmail", "Işık"), ("İSMAİL", "IŞIK")),
        ("name 'Ayşe Nur Çağlar' differs", ("Ayşe Nur", "Çağlar"), ("Ayşe", "Nur", "Çağlar")),
        ("send to ayse.caglar@example.com.tr failed", (), ("ayse.caglar@example.com.tr",)),
        ("mail AYSE@EXAMPLE.COM", ("ayse@example.com",), ("AYSE@EXAMPLE.COM",)),
    ],
)
def test_redact_masks_the_names_and_emails_it_is_given(text, known, gone):
    from oks.privacy import redact

    cleaned = redact(text, known=known)
    for value in gone:
        assert value not in cleaned
    assert cleaned != text


def test_redact_leaves_text_without_personal_data_alone():
    from oks.privacy import redact

    assert redact("row 4, pek: negative; contract AG10000549", known=("Ayşe",)) == "row 4, pek: negative; contract AG10000549"
