"""The DAG tests use the session's Airflow home (``airflow_home`` in tests/conftest.py), shared with the plugin's
tests: Airflow reads its configuration once per process, so there can only be one."""
