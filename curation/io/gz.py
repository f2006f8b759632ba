"""A gzip reader that keeps what a cut file holds: every byte before the cut is returned, the cut
is an end of file, and :attr:`GzipStream.truncated` says that it happened.

Python's ``gzip`` raises ``EOFError`` at a cut, and a reader above it (fastwarc's record parser,
a ``BufferedReader``'s ``readline``) loses what it had buffered but not yet returned: a cut
``.warc.gz`` of 40 records kept none. Multi-member files (one member per WARC record) and zero
padding after the last member are read as ``gzip`` reads them; CRC and length are checked by zlib.
Each ``read(n)`` returns at most ``n`` bytes, so a gzip bomb costs no more memory than a buffer.
"""

from __future__ import annotations

import gzip
import io
import zlib

#: compressed bytes read from the file at a time
CHUNK = 1 << 16


class ForwardSeek(io.RawIOBase):
    """``tell`` and forward ``seek`` over a stream that only reads (what a WARC parser asks of
    a file object); ``_read`` is the subclass's read."""

    _pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._pos + offset if whence == io.SEEK_CUR else None
        if target is None or target < self._pos:
            raise io.UnsupportedOperation("this stream seeks forward only")
        while self._pos < target and self.read(min(target - self._pos, 1 << 20)):
            pass
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            return self.readall()
        out = self._read(n)
        self._pos += len(out)
        return out

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


class GzipStream(ForwardSeek):
    def __init__(self, raw):
        self._raw = raw
        self._z = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer
        self._pending = b""  # compressed input not yet given to the decompressor
        self._eof = False
        self._started = False  # inside a member
        self.truncated = False

    def _read(self, n: int) -> bytes:
        while not self._eof:
            if not self._pending:
                self._pending = self._raw.read(CHUNK)
                if not self._pending:
                    self._eof = True
                    if self._started:  # input ended inside a member: the file was cut
                        self.truncated = True
                    break
            if not self._started:
                if not self._pending.strip(b"\x00"):  # zero padding after the last member
                    self._pending = b""
                    continue
                self._started = True
            try:
                out = self._z.decompress(self._pending, n)
            except zlib.error as e:
                raise gzip.BadGzipFile(f"not a gzip file or corrupt data: {e}") from None
            self._pending = self._z.unconsumed_tail
            if self._z.eof:  # end of a member: the rest starts the next one
                self._pending = self._z.unused_data + self._pending
                self._z = zlib.decompressobj(wbits=31)
                self._started = False
            if out:
                return out
        return b""

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def open_gzip(raw) -> io.BufferedReader:
    """A buffered reader over the decompressed bytes of ``raw``; ``was_cut(reader)`` afterwards."""
    return io.BufferedReader(GzipStream(raw), 1 << 20)


def was_cut(fh) -> bool:
    """Whether the gzip stream under ``fh`` (from :func:`open_gzip`) ended inside a member."""
    return bool(getattr(getattr(fh, "raw", None), "truncated", False))
