"""Pure byte-stream code: bytes in, typed results out. No PyAV, no files."""

import mmap

Buffer = bytes | bytearray | memoryview | mmap.mmap  # whatever holds the bytes: parsers only read it
