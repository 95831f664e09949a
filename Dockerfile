# The OKS image: the official Airflow image with the project's pinned requirements and the oks package.
# No secret is baked in: connections, keys and passwords come from the environment (.env / a secrets
# backend) when the containers start.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 requirements.txt constraints.txt pyproject.toml README.md /opt/oks/
COPY --chown=airflow:0 plugins /opt/oks/plugins
COPY --chown=airflow:0 include /opt/airflow/include
COPY --chown=airflow:0 dags /opt/airflow/dags

# The same lock as every other machine (constraints.txt); the test tools in requirements.txt are light
# and keep one list, so the image and CI cannot drift.
RUN pip install --no-cache-dir -r /opt/oks/requirements.txt -c /opt/oks/constraints.txt \
 && pip install --no-cache-dir --no-deps /opt/oks

ENV OKS_HOME=/opt/airflow/oks \
    OKS_SQL_DIR=/opt/airflow/include/sql
