"""Decode page bytes with their declared charset, else a detected one; refuse binary content;
repair (ftfy) or refuse the mojibake of a wrong declared charset."""

from __future__ import annotations

import codecs
import re

from resiliparse.parse.encoding import detect_encoding

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.I)

# A page whose first 4 KiB hold this share of control bytes is binary, not text.
BINARY_CONTROL_FRACTION = 0.10
# After a lenient decode, more than this share of U+FFFD means the charset guess was wrong.
MAX_REPLACEMENT_FRACTION = 0.01

_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13, 27})


#: Byte-order marks of UTF-32 and UTF-16 (UTF-32 first: its LE mark starts with UTF-16's).
_UTF16_32_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                  (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


class DecodeError(ValueError):
    """The bytes are not text in any charset we can establish. ``reason`` is the reject reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _lookup(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return _lookup(m.group(1)) if m else None


def looks_binary(data: bytes) -> bool:
    head = data[:4096]
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(head.count(bytes([c])) for c in _CONTROL)
    return controls / len(head) > BINARY_CONTROL_FRACTION


def decode_page(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Return ``(text, charset)``.

    Order: the declared charset (HTTP header), a ``<meta charset>`` in the first 4 KiB, UTF-8,
    then resiliparse's detector. Raises :class:`DecodeError` for binary content or bytes that no
    candidate decodes without losing more than 1% of characters.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8"
    for bom, enc in _UTF16_32_BOMS:  # their NUL bytes are text, not binary content
        if data.startswith(bom):
            return data[len(bom):].decode(enc, errors="replace"), enc.replace("-le", "").replace("-be", "")
    if looks_binary(data):
        raise DecodeError("binary_content", "control bytes in the first 4 KiB")
    candidates: list[str] = []
    for name in (declared, _meta_charset(data), "utf-8"):
        enc = _lookup(name)
        if enc and enc not in candidates:
            candidates.append(enc)
    for enc in candidates:
        try:
            return _unmangled(data.decode(enc), enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    detected = _lookup(detect_encoding(data[:65536])) or "cp1252"
    text = data.decode(detected, errors="replace")
    bad = text.count("\ufffd")
    if text and bad / len(text) > MAX_REPLACEMENT_FRACTION:
        raise DecodeError("undecodable", f"{bad} of {len(text)} characters invalid as {detected}")
    return _unmangled(text, detected), detected


def _unmangled(text: str, enc: str) -> str:
    """Repair mojibake left by a wrong charset (UTF-8 bytes read as Latin-1 or cp1252: "cafÃ©")
    with ftfy, the maintained library for exactly this; text ftfy cannot repair is rejected.
    UTF-8 decodes are left alone: a wrong charset cannot have produced them."""
    if enc == "utf-8" or text.isascii():
        return text
    import ftfy
    from ftfy.badness import is_bad

    if not is_bad(text):
        return text
    fixed = ftfy.fix_encoding(text)
    if is_bad(fixed):
        raise DecodeError("undecodable", f"mojibake after decoding as {enc}, not repairable")
    return fixed


def _meta_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii", "ignore") if m else None
