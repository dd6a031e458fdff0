from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import settings

from msecli.media.segment import SegmentOptions, segment

# CI replays the same examples every run (reproducible failures); locally hypothesis explores anew.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Segment a file once per distinct set of options in this test session; returns the output directory."""
    cache: dict[tuple, Path] = {}

    def run(source: Path, **options) -> Path:
        key = (str(source), tuple(sorted(options.items())))
        if key not in cache:
            if "duration" in options:
                options["duration"] = Fraction(options["duration"])
            out = tmp_path_factory.mktemp("seg") / "out"
            segment(source, out, SegmentOptions(**options))
            cache[key] = out
        return cache[key]

    return run


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/*.json from the code")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
