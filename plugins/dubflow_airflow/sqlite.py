"""SQLite connection arguments for the local Airflow (``make airflow``, ``make demo``, the test suite).

Airflow's components write to one SQLite file at once; with the driver's default 5 s busy timeout a writer gives up
with "database is locked", which the API turns into 500/503 answers and which once left a half-created backfill that
crashed the scheduler. Waiting longer for the lock is the fix for a single-machine setup; production uses Postgres.
Used as ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS=dubflow_airflow.sqlite.CONNECT_ARGS``.
"""

CONNECT_ARGS: dict[str, object] = {"timeout": 60}
