#!/bin/bash
# The OKS store as its own database and role beside Airflow's metadata (the postgres image runs this
# once, when its data volume is first created).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v oks_password="$OKS_DB_PASSWORD" <<'SQL'
CREATE ROLE oks LOGIN PASSWORD :'oks_password';
CREATE DATABASE oks OWNER oks;
SQL
