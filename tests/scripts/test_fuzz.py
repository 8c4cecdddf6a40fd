"""No input makes ingestion raise: arbitrary bytes, arbitrary text, and files built to each format's structure from
the pieces real scripts are made of (``fuzz_inputs``), under every supported extension, always end as lines or as
problems — never as a traceback, and never as the safety net's ``internal-error`` (which would only hide a bug).

``DUBFLOW_FUZZ_EXAMPLES`` sets the examples per extension (2,000 here; ``bench/fuzz_ingest.py`` runs many more,
with a fresh random seed each time). The run is derandomized so that CI is repeatable (``DUBFLOW_FUZZ_RANDOM=1`` draws new examples).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from pipeline.scripts.ingest import ingest_bytes, supported_suffixes
from pipeline.scripts.model import IngestResult
from pipeline.settings import Settings
from pipeline.text.markup import parse
from tests.scripts.fuzz_inputs import inputs

EXAMPLES = int(os.environ.get("DUBFLOW_FUZZ_EXAMPLES", "2000"))
SETTINGS = Settings().ingest


def check(result: IngestResult) -> None:
    codes = {p.code for p in result.problems}
    assert "internal-error" not in codes, [str(p) for p in result.problems]
    assert result.lines or result.errors, "a file that gives no line must say why"
    for problem in result.problems:
        assert problem.message and problem.code and (problem.line is None or problem.line >= 1)
        str(problem)
    if result.ok:
        for line in result.lines:
            assert line.text.strip() and line.lang
            parse(line.text)  # what is accepted is valid markup


@pytest.mark.parametrize("suffix", supported_suffixes())
def test_no_input_makes_ingest_raise(suffix: str) -> None:
    @given(inputs(suffix))
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not os.environ.get("DUBFLOW_FUZZ_RANDOM"),
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    def run(data: bytes) -> None:
        check(ingest_bytes(data, f"fuzz{suffix}", SETTINGS))

    run()
