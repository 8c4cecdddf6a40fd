"""Script files (subtitles, line sheets, manuscripts) → validated ``Line`` records and a lines table.

Entry points: ``pipeline.scripts.ingest`` (``ingest_bytes``, ``ingest_file``, ``ingest_text``); the formats are
one table in ``pipeline.scripts.formats``.
"""
