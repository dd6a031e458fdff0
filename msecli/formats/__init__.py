"""Pure byte-stream code: bytes in, typed results out. No PyAV, no files."""
