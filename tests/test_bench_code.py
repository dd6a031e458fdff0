"""The benchmark's own measuring code runs and measures what it says (its timings are for `make bench` only)."""

from __future__ import annotations

import re

from bench.run import bench_removal_scaling


def test_removal_scaling_removes_and_evicts_what_its_table_reports():
    """Each row: 60 frames removed, then one 2 s GOP of 1000-byte frames (60000 bytes) evicted before the position."""
    lines = bench_removal_scaling((1, 2))
    rows = lines[1:]
    assert [int(re.search(r"(\d+) frames stored", row).group(1)) for row in rows] == [1800, 3600]
    assert all("remove 60 frames" in row and "evict one GOP (60000 bytes)" in row for row in rows)
