"""Script files (subtitles, line sheets, manuscripts) → validated ``Line`` records and a lines table."""

from pipeline.scripts.ingest import ingest_file, ingest_text
from pipeline.scripts.model import IngestResult, Line, Problem

__all__ = ["IngestResult", "Line", "Problem", "ingest_file", "ingest_text"]
