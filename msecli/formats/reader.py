"""A bounds-checked big-endian reader over a buffer: every read past the end is a ParseError that
names the byte offset and the box/element path."""

from __future__ import annotations

import struct

from msecli.errors import ParseError
from msecli.formats import Buffer

_U16, _U32, _U64, _I16, _I32, _I64 = (struct.Struct(f) for f in (">H", ">I", ">Q", ">h", ">i", ">q"))


class Reader:
    __slots__ = ("data", "position", "end", "path")

    def __init__(self, data: Buffer, start: int, end: int, path: str) -> None:
        self.data, self.position, self.end, self.path = data, start, end, path

    @property
    def remaining(self) -> int:
        return self.end - self.position

    def need(self, count: int, what: str = "field") -> None:
        if count < 0 or self.position + count > self.end:
            raise ParseError(
                f"{what} needs {count} bytes, box has {self.remaining}", offset=self.position, path=self.path
            )

    def skip(self, count: int) -> None:
        self.need(count)
        self.position += count

    def _unpack(self, fmt: struct.Struct) -> int:
        self.need(fmt.size)
        (value,) = fmt.unpack_from(self.data, self.position)
        self.position += fmt.size
        return value

    def u8(self) -> int:
        self.need(1)
        value = self.data[self.position]
        self.position += 1
        return value

    def u16(self) -> int:
        return self._unpack(_U16)

    def u24(self) -> int:
        return (self.u8() << 16) | self.u16()

    def u32(self) -> int:
        return self._unpack(_U32)

    def u64(self) -> int:
        return self._unpack(_U64)

    def i16(self) -> int:
        return self._unpack(_I16)

    def i32(self) -> int:
        return self._unpack(_I32)

    def i64(self) -> int:
        return self._unpack(_I64)

    def fourcc(self) -> str:
        return self.bytes(4).decode("latin-1")

    def bytes(self, count: int) -> bytes:
        self.need(count)
        value = bytes(self.data[self.position : self.position + count])
        self.position += count
        return value

    def cstring(self) -> str:
        """A NUL-terminated UTF-8 string (or the rest of the box when there is no NUL)."""
        raw = bytes(self.data[self.position : self.end])
        text, _, _ = raw.partition(b"\0")
        self.position = min(self.end, self.position + len(text) + 1)
        return text.decode("utf-8", "replace")

    def fixed16_16(self) -> float:
        return self.u32() / 65536

    def version_and_flags(self) -> tuple[int, int]:
        value = self.u32()
        return value >> 24, value & 0xFFFFFF
