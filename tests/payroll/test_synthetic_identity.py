"""The generator's identifiers pass (or, planted, fail) the same checks validation applies."""

from __future__ import annotations

import random

import pytest
from stdnum import iban as stdnum_iban
from stdnum.tr import tckimlik, vkn

from oks.payroll.synthetic_identity import (
    BANKS,
    TcknSequence,
    ascii_fold,
    iban,
    iban_check_digits,
    name_lists,
    random_account,
    random_landline,
    random_mobile,
    random_vkn,
)
from oks.payroll.synthetic_rows import _typo
from oks.rules.identity import InvalidIdentifier, normalize_iban, normalize_mobile, normalize_tckn


@pytest.mark.parametrize(("code", "bank", "weight"), BANKS)
def test_ibans_at_each_bank_are_valid_turkish_ibans(code, bank, weight):
    rng = random.Random(code)
    for _ in range(50):
        value = iban(code, random_account(rng))
        assert normalize_iban(value) == value
        assert value[4:9] == code and value[9] == "0"
        assert stdnum_iban.calc_check_digits(value) == value[2:4]  # our ISO 7064 agrees with stdnum's


def test_the_documented_example_iban_check_digits():
    assert iban("00061", "0519786457841326") == "TR330006100519786457841326"
    assert iban_check_digits("DE", "370400440532013000") == "89"  # DE89 3704 0044 0532 0130 00


@pytest.mark.parametrize(
    ("variant", "build"),
    [
        ("reserved_digit", lambda: iban("00046", "0000000000012345", reserved_digit="7")),
        ("checksum", lambda: "TR99" + iban("00046", "0000000000012345")[4:]),
        ("country", lambda: "DE" + iban_check_digits("DE", "370400440532013000") + "370400440532013000"),
    ],
)
def test_each_broken_iban_fails_for_its_own_reason(variant, build):
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_iban(build())
    assert caught.value.code == variant


def test_tckn_sequences_are_distinct_valid_and_foreigners_start_with_99():
    rng = random.Random(1)
    citizens, foreigners = TcknSequence(rng, foreign=False), TcknSequence(rng, foreign=True)
    numbers = [next(citizens) for _ in range(20_000)]
    assert len(set(numbers)) == len(numbers)
    assert all(tckimlik.is_valid(n) and not n.startswith(("0", "99")) for n in numbers)
    assert normalize_tckn(numbers[0]) == numbers[0]
    foreign = [next(foreigners) for _ in range(2000)]
    assert len(set(foreign)) == 2000 and all(n.startswith("99") and tckimlik.is_valid(n) for n in foreign)


def test_a_small_tckn_range_is_a_permutation():
    sequence = TcknSequence(random.Random(2), foreign=True)
    sequence._size = 1000  # shrink the range to see the whole cycle: every value exactly once
    sequence._multiplier = 3 * 7 * 11  # coprime to 1000
    values = [next(sequence) for _ in range(1000)]
    assert len(set(values)) == 1000
    with pytest.raises(OverflowError):
        next(sequence)


def test_mobiles_in_every_style_normalize_and_landlines_are_refused():
    rng = random.Random(3)
    mobiles = {random_mobile(rng) for _ in range(3000)}
    assert {m[:1] for m in mobiles} == {"0", "+", "5"} and any(" " in m for m in mobiles)
    for value in mobiles:
        assert normalize_mobile(value).startswith("+905")
    for _ in range(300):
        with pytest.raises(InvalidIdentifier) as caught:
            normalize_mobile(random_landline(rng))
        assert caught.value.code == "not_mobile"


def test_vkns_carry_their_check_digit():
    rng = random.Random(4)
    assert all(vkn.is_valid(random_vkn(rng)) for _ in range(500))


def test_name_lists_are_turkish_long_enough_unique_and_fit_windows_1254():
    names = name_lists()
    assert len(names.female) >= 200 and len(names.male) >= 200 and len(names.last) >= 300
    turkish = "".join(names.female + names.male + names.last)
    assert set("çğıİöşüÇÖŞÜ") <= set(turkish)  # no Turkish word starts with Ğ
    for group in (names.female, names.male, names.last, names.foreign_first, names.foreign_last, names.activities):
        assert len(set(group)) == len(group)
        assert all(name == name.strip() and name for name in group)
    everything = [value for group in vars(names).values() for value in group]
    for value in everything:
        value.encode("cp1254")  # the Turkish code page some payroll products still export


@pytest.mark.parametrize(("name", "folded"), [("Şükrü Çağlar", "Sukru Caglar"), ("İbrahim Işık", "Ibrahim Isik"), ("Müller", "Muller")])
def test_ascii_fold(name, folded):
    assert ascii_fold(name) == folded


def test_typos_differ_even_after_folding():
    rng = random.Random(5)
    names = name_lists()
    for name in names.female + names.male + names.last + names.foreign_last:
        typo = _typo(rng, name)
        assert ascii_fold(typo).lower() != ascii_fold(name).lower(), (name, typo)
        assert typo.strip() == typo and typo
