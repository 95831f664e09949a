"""Loss claims of late payments: the fund's return is data entered as given, the loss computed from it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oks.store.loss_claims import LossClaimRefused, parse_percent


@pytest.mark.parametrize(("text", "percent"), [("0,85", Decimal("0.85")), ("0.85", Decimal("0.85")), ("-1,2", Decimal("-1.2")),
                                               ("1.23456 %", Decimal("1.23456")), ("3", Decimal("3"))])  # fmt: skip
def test_a_return_is_read_as_people_write_it(text, percent):
    assert parse_percent(text) == percent


@pytest.mark.parametrize("text", ["1.234,5", "1e-2", "0,1234567", "abc", "", "123"])
def test_anything_else_is_refused_never_guessed(text):
    with pytest.raises(LossClaimRefused, match="a return in percent"):
        parse_percent(text)
