"""The plugin's tests use the same throwaway Airflow home as the DAG tests."""

from tests.dags.conftest import airflow_home  # noqa: F401  (a fixture, shared by name)
