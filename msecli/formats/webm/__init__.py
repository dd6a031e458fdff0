"""WebM / Matroska (EBML)."""
