"""Insurer profiles are data, checked when loaded: a broken one is refused naming its file and entry."""

from __future__ import annotations

import json
import re

import pytest

from oks.channels.profiles import SHIPPED, ProfileError, load_profile


def test_an_insurer_without_a_profile_gets_the_generic_one_and_a_deployment_may_bring_its_own(tmp_path, monkeypatch):
    assert load_profile("KATILIM").source.endswith("generic.json")
    own = json.loads((SHIPPED / "generic.json").read_text(encoding="utf-8")) | {"date_format": "%d.%m.%Y"}
    (tmp_path / "katilim.json").write_text(json.dumps(own), encoding="utf-8")
    monkeypatch.setenv("OKS_CHANNEL_PROFILES", str(tmp_path))
    profile = load_profile("KATILIM")
    assert (profile.source, profile.date_format, profile.insurer) == (str(tmp_path / "katilim.json"), "%d.%m.%Y", "KATILIM")
    assert load_profile("VAKIF").source == str(SHIPPED / "vakif.json")  # the shipped ones still serve the rest


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "pdf"}, "format 'pdf': csv or xlsx"),
        ({"encoding": "ascii"}, "cannot write Turkish letters"),
        ({"decimal_separator": ",", "thousands_separator": ","}, "could be read as each other"),
        ({"date_format": "%d.%m"}, "does not read back the dates it writes"),
        ({"file_name": "../{contract_no}_{kind}.csv"}, "file_name"),
        ({"file_name": "{contract_no}.csv"}, "with {kind} in it"),
        ({"event_names": {"ENROL": "GİRİŞ", "UPDATE": "GİRİŞ", "EXIT": "ÇIKIŞ"}}, "each differently"),
        ({"files": {"personnel": {"columns": [["tckn", "TCKN"]]}}}, "'personnel' and 'contribution'"),
    ],
)
def test_a_broken_profile_is_refused_naming_the_entry(tmp_path, change, message):
    data = json.loads((SHIPPED / "generic.json").read_text(encoding="utf-8")) | change
    (tmp_path / "x.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileError, match=r"x\.json: .*" + re.escape(message)):
        load_profile("X", [tmp_path])


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([["tckn", "TCKN"], ["salary", "Maaş"], ["amount", "Tutar"]], "columns\\[2\\]: 'salary' is not a field of the submission record"),
        ([["tckn", "TCKN"], ["amount", "tckn"], ["payroll_id", "Tckn"]], "a header appears twice"),
        ([["tckn", "TCKN"], ["pay_period", "Dönem"]], "no amount column"),
        ([["amount", "Tutar"]], "no tckn column"),
    ],
)
def test_a_contribution_layout_must_name_known_fields_once_with_amount_and_tckn(tmp_path, columns, message):
    data = json.loads((SHIPPED / "generic.json").read_text(encoding="utf-8"))
    data["files"]["contribution"]["columns"] = columns
    (tmp_path / "x.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        load_profile("X", [tmp_path])


def test_every_shipped_profile_loads():
    for path in SHIPPED.glob("*.json"):
        profile = load_profile(path.stem, [SHIPPED])
        assert profile.source == str(path) and profile.layout("personnel").columns and profile.layout("contribution").columns
