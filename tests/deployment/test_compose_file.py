"""docker-compose.yaml checked by compose itself, and against the processes tests/deployment runs —
so the file and the proven deployment cannot drift apart."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.deployment.compose_processes import (
    AIRFLOW_SERVICES,
    BIN,
    COMPOSE_FILE,
    REPO,
    RUN_ENV,
    Locations,
    dotenv_for_run,
    load_compose,
    plan,
)

# What a process has that its container does not, each for a reason in compose_processes.TRANSLATIONS.
PROCESS_ONLY = {
    "PATH", "AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__LOGGING__BASE_LOG_FOLDER",  # the image's paths
    "AIRFLOW__API__HOST", "AIRFLOW__API__PORT", "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",  # ports
    "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
    "OKS_WORKER_NAME", "AIRFLOW__CORE__HOSTNAME_CALLABLE", "PYTHONPATH",  # a worker's own hostname
}


def _compose_cli() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose is missing: `make test` installs Debian's docker-compose")
        pytest.skip("no docker-compose here (make test installs it with apt-get where it can)")
    return found


def _env_file(tmp_path, **changes) -> str:
    env = dotenv_for_run(des_url="http://des-simulator:8765")
    env.update(changes)
    path = tmp_path / ".env"
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items() if v is not None), encoding="utf-8")
    return str(path)


def test_compose_reads_the_file_with_every_profile(tmp_path):
    cli = _compose_cli()
    base = [cli, "--project-directory", str(REPO), "-f", str(COMPOSE_FILE), "--env-file", _env_file(tmp_path)]
    subprocess.run([*base, "config", "-q"], check=True, timeout=60)
    services = subprocess.run([*base, "--profile", "sandbox", "--profile", "flower", "config", "--services"],
                              check=True, timeout=60, capture_output=True, text=True).stdout.split()  # fmt: skip
    assert set(services) == {"postgres", "redis", *AIRFLOW_SERVICES, "flower", "des-simulator", "mailcatcher"}


def test_compose_refuses_to_start_without_the_shared_jwt_secret(tmp_path):
    cli = _compose_cli()
    env_file = _env_file(tmp_path, AIRFLOW_JWT_SECRET=None)
    refused = subprocess.run([cli, "--project-directory", str(REPO), "-f", str(COMPOSE_FILE), "--env-file", env_file, "config", "-q"],
                             timeout=60, capture_output=True, text=True)  # fmt: skip
    assert refused.returncode != 0 and "set AIRFLOW_JWT_SECRET in .env" in refused.stderr


def test_every_service_has_a_health_check_and_production_binds_loopback():
    compose = load_compose(dotenv_for_run(des_url="http://des-simulator:8765"))
    for name, service in compose["services"].items():
        if name != "airflow-init":  # a one-shot job: its exit status is its health
            assert service.get("healthcheck", {}).get("test"), name
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert compose["services"]["airflow-worker"]["command"] == "celery worker"


def test_every_variable_the_file_reads_is_documented_in_env_example():
    # $${X} is the container's own variable (escaped for compose), not one compose reads.
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", COMPOSE_FILE.read_text(encoding="utf-8")))
    documented = {line.split("=", 1)[0] for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
                  if "=" in line and not line.startswith("#")}  # fmt: skip
    assert used <= documented, used - documented


def test_the_processes_run_exactly_the_compose_services(tmp_path):
    env = dotenv_for_run(des_url="http://127.0.0.1:1")
    compose = load_compose(env)
    where = Locations(home=tmp_path, metadata_db="meta_db", store_db="store_db", redis_db=3, api_port=18080)
    processes = plan(compose, where, workers=2, extra_env=RUN_ENV)

    assert [p.name for p in processes] == ["airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                                           "airflow-triggerer", "airflow-worker-1", "airflow-worker-2"]  # fmt: skip
    for p in processes:
        spec = compose["services"][p.service]
        command = spec["command"] if isinstance(spec["command"], list) else spec["command"].split()
        argv = p.argv[1:]
        if p.service == "airflow-worker":
            assert argv[-2:] == ["--celery-hostname", f"{p.name}@%h"]
            argv = argv[:-2]
        assert argv == command, p.name
        # The image's entrypoint runs `airflow <command>`; airflow-init's is bash.
        assert p.argv[0] == ("bash" if spec.get("entrypoint") == "/bin/bash" else str(BIN / "airflow")), p.name
        compose_env = spec.get("environment") or {}
        for key, value in compose_env.items():
            assert p.env[key] == where.translate(str(value)), (p.name, key)
        assert set(p.env) - set(compose_env) <= PROCESS_ONLY | set(RUN_ENV), (p.name, set(p.env) - set(compose_env) - PROCESS_ONLY)
    # The translations say where each service is, and nothing else changes.
    scheduler = next(p for p in processes if p.service == "airflow-scheduler").env
    assert scheduler["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert scheduler["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://postgres@127.0.0.1:5432/meta_db"
    assert scheduler["AIRFLOW_CONN_OKS_STORE"] == "postgresql://postgres@127.0.0.1:5432/store_db"
    assert scheduler["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6379/3"
    assert scheduler["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert len({p.env["AIRFLOW__API_AUTH__JWT_SECRET"] for p in processes}) == 1  # one secret for every component


def test_the_image_is_the_pinned_airflow_with_the_pinned_requirements():
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    requirements = (REPO / "requirements.txt").read_text(encoding="utf-8")
    airflow = re.search(r"^apache-airflow==(\S+)$", requirements, re.M).group(1)
    assert f"FROM apache/airflow:{airflow}-python3.11" in dockerfile
    assert "-r /opt/oks/requirements.txt -c /opt/oks/constraints.txt" in dockerfile
    assert re.search(r"^apache-airflow-providers-celery==", requirements, re.M)
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")).upper()
    for secret in ("FERNET", "JWT", "PASSWORD", "AIRFLOW_CONN", "SECRET"):
        assert secret not in instructions, secret  # nothing secret baked into the image
