"""The monthly glue's rules that a trigger form leans on: which month a run without a period takes
(across dates, frozen), and a run with no payroll source failing first, naming the connection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from oks.orchestration.monthly import resolve_period


@pytest.mark.parametrize(
    ("params", "logical_date", "now", "period"),
    [
        ({"period": "2026-11"}, None, "2026-12-02T06:00:00Z", "2026-11"),
        ({"period": " 2027-02 "}, None, "2026-12-02T06:00:00Z", "2027-02"),
        ({}, "2026-11-25T04:00:00Z", "2026-12-02T06:00:00Z", "2026-11"),  # a scheduled run: its own month
        ({"period": ""}, None, "2026-12-02T06:00:00Z", "2026-12"),  # a manual run: the current month
        ({"period": None}, None, "2026-12-31T21:30:00Z", "2027-01"),  # 00:30 on 1 January in Istanbul
        ({}, "2027-02-28T21:00:00Z", "2027-03-05T06:00:00Z", "2027-03"),  # midnight in Istanbul is March
        ({}, None, "2028-02-29T12:00:00Z", "2028-02"),
        ({}, None, "2030-06-30T20:59:59Z", "2030-06"),
    ],
)
def test_a_run_without_a_period_takes_the_month_of_its_date_in_istanbul(params, logical_date, now, period):
    logical = datetime.fromisoformat(logical_date.replace("Z", "+00:00")) if logical_date else None
    with time_machine.travel(datetime.fromisoformat(now.replace("Z", "+00:00")), tick=False):
        assert resolve_period(params, logical) == period


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "26-11", "2026/11", "Kasım 2026", "2026-1"])
def test_a_period_that_is_not_a_month_is_refused_saying_the_form(bad):
    with pytest.raises(ValueError, match=r"period must be a month as YYYY-MM, e.g. 2026-11"):
        resolve_period({"period": bad}, None, now=datetime(2026, 12, 2, tzinfo=UTC))


def test_a_run_with_no_payroll_source_fails_first_naming_the_connection(tmp_path, monkeypatch):
    from oks.orchestration import monthly

    monkeypatch.setenv("OKS_STORE_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    monkeypatch.delenv("OKS_PAYROLL_SOURCE", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_OKS_PAYROLL", raising=False)
    with pytest.raises(ValueError, match=r"no payroll source: set the Airflow connection oks_payroll"):
        monthly.extract_payroll({"period": None, "payroll_source": None, "employers": None}, datetime(2026, 11, 25, 4, tzinfo=UTC))


@pytest.mark.parametrize(
    ("now", "newest", "count"),
    [("2026-12-02T06:00:00Z", "2027-12", 132), ("2026-12-31T21:30:00Z", "2028-01", 133), ("2017-01-01T00:00:00Z", "2018-01", 13),
     ("2035-06-15T12:00:00Z", "2036-06", 234)],
)  # fmt: skip
def test_the_form_offers_every_month_from_2017_to_a_year_ahead_in_istanbul(now, newest, count):
    from oks.orchestration.monthly import selectable_periods

    choices = selectable_periods(datetime.fromisoformat(now.replace("Z", "+00:00")))
    assert next(iter(choices)) == newest and list(choices)[-1] == "2017-01" and len(choices) == count
    assert all(resolve_period({"period": p}, None) == p for p in choices)


# --- the glue, step by step, with local resources (no dag.test(), no Airflow connection) -----------


def _wait_final(sim_settings, kind: str, ids: list[str], *, within: float = 30.0) -> None:
    """What the sensors do between the steps: wait until DES has the insurers' answers."""
    import time

    from oks.des.client import DesClient
    from oks.des.states import is_final

    deadline = time.monotonic() + within
    with DesClient(sim_settings) as des:
        read = des.read_personnel_results if kind == "personnel_list" else des.read_payment
        while not all(is_final(kind, read(i, limit=1).state) for i in ids):
            assert time.monotonic() < deadline, f"DES {kind}s {ids} not final after {within} s"
            time.sleep(0.05)


@pytest.fixture
def local_resources(sim, tmp_path, monkeypatch):
    from oks.des.models import WsCredentials
    from oks.orchestration.resources import Resources
    from tests.des.simulator import fast_settings

    # No Airflow connection of any kind: everything the steps use is handed in.
    for name in ("DES_DEFAULT", "OKS_STORE", "OKS_PAYROLL", "OKS_WS_DEFAULT"):
        monkeypatch.delenv(f"AIRFLOW_CONN_{name}", raising=False)
    monkeypatch.delenv("OKS_PAYROLL_SOURCE", raising=False)
    sent: list = []
    resources = Resources.local(
        store=f"sqlite:///{tmp_path / 'store.sqlite'}", des=fast_settings(sim.url),
        ws_credentials=WsCredentials(user="ws-user", password="ws-secret", client_id="cid", client_secret="csecret"),
        alert_senders=lambda: {"memory": sent.append}, home=tmp_path / "home",
    )  # fmt: skip
    return resources, sent  # sent: what the steps told operations


def test_each_task_of_a_month_through_the_glue_with_local_resources(local_resources, sim, tmp_path, monkeypatch):
    from oks.orchestration import monthly
    from oks.payroll.synthetic import generate
    from oks.store.obligations import owed
    from oks.store.schema import payment_obligations
    from tests.des.simulator import fast_settings

    r, sent = local_resources
    manifest = generate(tmp_path / "payroll", period="2026-09", fmt="csv", employers=2, employees=30, seed=5,
                        defect_share=0, identity_mismatch_share=0)  # fmt: skip
    sim.load_register(manifest.identity_register)
    params = {"period": "2026-09", "payroll_source": str(manifest.payroll.parent), "employers": None, "dry_run": False}

    extracted = monthly.extract_payroll(params, None, r)
    run = extracted["store_run_id"]
    assert "run_id" not in extracted and extracted["rows_read"] == manifest.rows
    validated = monthly.validate_personnel(run, r)
    assert validated["store_run_id"] == run and "run_id" not in validated  # Airflow's run_id is another thing
    assert validated["lines"] == manifest.rows and validated["pek_limits"]["outside"] == 0
    assert (r.home / "data_docs" / f"run-{run}" / "index.html").is_file()  # under the resources' home
    assert monthly.register_personnel(run, r)["employees_upserted"] == 30
    assert "skipped" not in monthly.sync_insurer_status(run, r)
    assessed = monthly.assess_eligibility(run, r)
    assert assessed["lines"] == manifest.rows and assessed["contributed"] > 0
    contributed = monthly.compute_contributions(run, r)
    assert contributed["contracts"] >= 1 and contributed["contributions"] == assessed["contributed"]

    batches = monthly.plan_des_batches(run, 1, r)
    assert len(batches) == contributed["contracts"] and all(b["store_run_id"] == run and len(b["contracts"]) == 1 for b in batches)
    assert [c for b in monthly.plan_des_batches(run, 50, r) for c in b["contracts"]] == [b["contracts"][0] for b in batches]

    obligation_ids = []
    for batch in batches:
        lists = monthly.submit_personnel(batch, r)
        assert lists and monthly.submit_personnel(batch, r) == lists  # a cleared task re-attaches
        _wait_final(fast_settings(sim.url), "personnel_list", lists)
        assert monthly.record_personnel_results(batch, r)["enrolled"] > 0
        payments = monthly.submit_payment(batch, r)
        assert payments and monthly.submit_payment(batch, r) == payments  # never paid twice
        _wait_final(fast_settings(sim.url), "payment", payments)
        obligation_ids += monthly.record_payment_obligation(batch, r)

    assert len(obligation_ids) == len(set(obligation_ids)) >= len(batches)
    assert {a.obligation_id for a in sent} == set(obligation_ids)  # every instruction reached operations
    assert monthly.reconcile_run(run, r)["problems"] == 0
    report = monthly.publish_report(run, r)
    assert (r.home / "reports" / f"run-{run}" / "report.html").is_file() and report
    requests = monthly.plan_confirmations(run, r)
    assert sorted(q["obligation_id"] for q in requests) == sorted(obligation_ids)
    owed_now = {o.id: o for o in owed(r.engine, payment_obligations.c.run_id == run)}
    for q in requests:
        o = owed_now[q["obligation_id"]]
        assert f"{o.amount:,.2f} TL" in q["subject"] and o.collection_iban in q["body"]
        assert q["response_timeout"].total_seconds() > 0

    # More obligations or batches than Airflow may map: refused naming the count and the setting, not
    # Airflow's bare "Server returned error" at the XCom push (a bureau's month had 1,514 contracts).
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", str(len(requests) - 1))
    with pytest.raises(monthly.TooManyToMap, match=rf"^{len(requests)} payment obligations to confirm: .*max_map_length = {len(requests) - 1}.*AIRFLOW__CORE__MAX_MAP_LENGTH"):
        monthly.plan_confirmations(run, r)
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", str(len(batches) - 1))
    with pytest.raises(monthly.TooManyToMap, match=rf"^{len(batches)} DES batches: .*raise des_batch_size"):
        monthly.plan_des_batches(run, 1, r)


def test_a_dry_run_through_the_glue_calls_no_des(local_resources, sim, tmp_path):
    from oks.orchestration import monthly
    from oks.payroll.synthetic import generate

    r, _ = local_resources
    manifest = generate(tmp_path / "payroll", period="2026-10", fmt="csv", employers=1, employees=10, seed=2, defect_share=0)
    params = {"period": "2026-10", "payroll_source": str(manifest.payroll.parent), "dry_run": True}

    run = monthly.extract_payroll(params, None, r)["store_run_id"]
    monthly.validate_personnel(run, r)
    monthly.register_personnel(run, r)
    assert monthly.sync_insurer_status(run, r) == {"skipped": "dry run"}
    monthly.assess_eligibility(run, r)
    monthly.compute_contributions(run, r)
    assert monthly.plan_des_batches(run, 50, r) == []
    assert monthly.reconcile_run(run, r)["problems"] == 0
    assert sim.state()["payments"] == [] and sim.state().get("personnel_lists", []) == []
