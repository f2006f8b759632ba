"""pii: find e-mail addresses, IP addresses and phone numbers; redact them or drop the document.

Patterns (RE2, run by Arrow over the whole batch, so there is no Python loop over documents):

* e-mail: ``local@domain.tld`` with an RFC 5322-ish local part and a dotted domain whose last
  label has 2+ letters (as datatrove's ``PIIFormatter`` and Dolma's PII tagger).
* IPv4: four dotted octets 0-255, not inside a longer dotted number (a version string such as
  ``1.2.3.4.5`` is left alone); IPv6: 8 groups of 1-4 hex digits, or a ``::``-compressed form with
  at least 3 groups.
* phone: an optional ``+country`` code, then a 2-4 digit area code (optionally in parentheses)
  and two groups of 3-4 digits, separated by space, dot or hyphen: ``+1 (555) 123-4567``,
  ``555-123-4567``, ``+44 20 7946 0958``, ``030 1234 5678``. A bare run of digits is never a
  phone number (it is more often a year, a price or an id), nor a date such as ``2020-01-31``.

``mode: redact`` (the default) replaces each match with a tag (``<EMAIL>``, ``<IP>``,
``<PHONE>``, configurable) and keeps the document; ``mode: drop`` rejects documents with more than
``max_matches`` matches (reason ``pii``). Columns ``pii_emails``, ``pii_ips``, ``pii_phones``
(int32) count what was found (and, in redact mode, replaced).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation import schema
from curation.operators.base import Params
from curation.operators.filter import Decision, Filter

EMAIL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H = r"[0-9A-Fa-f]{1,4}"
# (guard before, item, guard after): RE2 has no lookaround, so guards are captured and put back.
IPV4 = (r"^|[^0-9.]", rf"{_OCTET}(?:\.{_OCTET}){{3}}", r"$|[^0-9.]|\.[^0-9]|\.$")
IPV6 = (r"^|[^0-9A-Fa-f:]", rf"(?:{_H}:){{7}}{_H}|(?:{_H}:){{1,6}}:(?:{_H}:){{0,5}}{_H}", r"$|[^0-9A-Fa-f:]")
PHONE = (r"^|[^0-9A-Za-z+\-]",
         r"(?:\+[1-9][0-9]{0,2}[ .\-]?)?(?:\([0-9]{2,4}\)|[0-9]{2,4})[ .\-][0-9]{3,4}[ .\-][0-9]{3,4}",
         r"$|[^0-9A-Za-z\-]")


def guarded(parts: tuple[str, str, str]) -> str:
    lead, item, trail = parts
    return f"({lead})({item})({trail})"


class PiiParams(Params):
    mode: Literal["redact", "drop"] = "redact"
    emails: bool = True
    ips: bool = True
    phones: bool = True
    email_tag: str = "<EMAIL>"
    ip_tag: str = "<IP>"
    phone_tag: str = "<PHONE>"
    #: mode drop: documents with more matches than this are rejected (reason ``pii``).
    max_matches: int = 0


class Pii(Filter):
    name = "pii"
    provides = ("pii_emails", "pii_ips", "pii_phones")
    Params = PiiParams

    def _kinds(self) -> list[tuple[str, str, str]]:
        """(column, RE2 pattern, replacement) per kind; guarded patterns keep groups 1 and 3."""
        p: PiiParams = self.params
        kinds = []
        if p.emails:
            kinds.append(("pii_emails", EMAIL, _esc(p.email_tag)))
        if p.ips:
            kinds.append(("pii_ips", guarded(IPV6), r"\1" + _esc(p.ip_tag) + r"\3"))
            kinds.append(("pii_ips", guarded(IPV4), r"\1" + _esc(p.ip_tag) + r"\3"))
        if p.phones:
            kinds.append(("pii_phones", guarded(PHONE), r"\1" + _esc(p.phone_tag) + r"\3"))
        return kinds

    def decide(self, table: pa.Table) -> Decision:
        p: PiiParams = self.params
        col = table.column(schema.TEXT)
        texts = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        texts = pc.fill_null(texts.cast(pa.large_string()), "")
        n = len(texts)
        counts = {"pii_emails": np.zeros(n, np.int64), "pii_ips": np.zeros(n, np.int64),
                  "pii_phones": np.zeros(n, np.int64)}
        for column, pattern, replacement in self._kinds():
            if not pc.any(pc.match_substring_regex(texts, pattern)).as_py():
                continue
            # guards are consumed with each match, so two items sharing one separator need a
            # second pass; counting repeats the passes on the redacted text
            work = texts
            for _ in range(2):
                found = _np(pc.count_substring_regex(work, pattern))
                if not found.any():
                    break
                counts[column] += found
                work = pc.replace_substring_regex(work, pattern, replacement)
            if p.mode == "redact":
                texts = work
        reasons: list[str | None] = [None] * n
        details: list[str | None] = [None] * n
        total = counts["pii_emails"] + counts["pii_ips"] + counts["pii_phones"]
        if p.mode == "drop":
            for i in np.flatnonzero(total > p.max_matches):
                reasons[i] = "pii"
                details[i] = (f"{counts['pii_emails'][i]} emails, {counts['pii_ips'][i]} ips, "
                              f"{counts['pii_phones'][i]} phones")
        columns = {name: pa.array(values.astype(np.int32), pa.int32()) for name, values in counts.items()}
        return Decision(reasons, details, columns, rewrite={} if p.mode == "drop" else {schema.TEXT: texts})


def _np(a) -> np.ndarray:
    return a.to_numpy(zero_copy_only=False)


def _esc(tag: str) -> str:
    return tag.replace("\\", "\\\\")
