"""Airflow glue for dubflow: connections → pipeline settings. The pipeline itself never imports Airflow."""
