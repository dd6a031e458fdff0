"""PURE. Exact media time and TimeRanges."""
