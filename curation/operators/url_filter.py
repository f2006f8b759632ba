"""url_filter: drop documents whose URL is on a domain or URL-prefix blocklist.

Lists are plain text files; the format is documented at the top of the bundled default list,
``curation/data/url_blocklist/default.txt`` (adult and people-search domains, the two kinds the
Llama 3 report blocks in Section 3.1.1). In short: one entry a line, ``#`` comments, an optional
category after the entry; an entry without ``/`` is a domain and blocks that host *and every
subdomain*; an entry with ``/`` is a scheme-less URL prefix.

Matching: the URL's host (lower-cased, ``www.`` and a trailing dot removed) and each of its parent
domains are looked up in a set (``a.b.example.com`` -> ``a.b.example.com``, ``b.example.com``,
``example.com``, ``com``), so a lookup costs a few set probes whatever the list size. Prefixes are
matched against ``host + path``. Documents without a URL are kept.

Reject reasons: ``blocked_domain`` and ``blocked_url``; ``detail`` is ``<category>: <entry>``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa

from curation import schema
from curation.operators.base import Params
from curation.operators.filter import Filter

DEFAULT_LIST = Path(__file__).resolve().parents[1] / "data" / "url_blocklist" / "default.txt"


class UrlFilterParams(Params):
    #: Use the bundled default list (adult + people-search domains).
    use_default_list: bool = True
    #: Extra list files in the same format (user-supplied).
    blocklists: list[str] = []
    #: Inline entries (same syntax as a list line), handy in a pipeline file.
    domains: list[str] = []


def parse_list(lines, default_category: str) -> tuple[dict[str, str], dict[str, str]]:
    """Parse blocklist lines into (domains -> category, url prefixes -> category)."""
    domains, prefixes = {}, {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        entry = parts[0].lower()
        category = parts[1] if len(parts) > 1 else default_category
        for scheme in ("http://", "https://"):
            if entry.startswith(scheme):
                entry = entry[len(scheme):]
        if entry.startswith("www."):
            entry = entry[4:]
        if "/" in entry:
            prefixes[entry] = category
        else:
            domains[entry.strip(".")] = category
    return domains, prefixes


def _host_path(url: str | None) -> tuple[str | None, str]:
    if not url:
        return None, ""
    try:
        parts = urlsplit(url.strip().strip("<>"))
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return None, ""
    if host.startswith("www."):
        host = host[4:]
    return host or None, parts.path or "/"


class UrlFilter(Filter):
    name = "url_filter"
    Params = UrlFilterParams

    def setup(self) -> None:
        p: UrlFilterParams = self.params
        self.domains: dict[str, str] = {}
        self.prefixes: dict[str, str] = {}
        files = ([DEFAULT_LIST] if p.use_default_list else []) + [Path(f) for f in p.blocklists]
        for f in files:
            if not f.is_file():
                raise FileNotFoundError(f"url_filter: blocklist not found: {f}")
            d, pr = parse_list(f.read_text(encoding="utf-8").splitlines(), f.stem)
            self.domains.update(d)
            self.prefixes.update(pr)
        d, pr = parse_list(p.domains, "config")
        self.domains.update(d)
        self.prefixes.update(pr)
        self._prefix_hosts = {k.split("/", 1)[0] for k in self.prefixes}

    def check(self, url: str | None) -> tuple[str | None, str | None]:
        host, path = _host_path(url)
        if host is None:
            return None, None
        labels = host.split(".")
        suffixes = [".".join(labels[i:]) for i in range(len(labels))]
        for s in suffixes:
            cat = self.domains.get(s)
            if cat is not None:
                return "blocked_domain", f"{cat}: {s}"
        if self.prefixes:
            for s in suffixes:
                if s in self._prefix_hosts:
                    target = s + path
                    for prefix, cat in self.prefixes.items():
                        if target.startswith(prefix):
                            return "blocked_url", f"{cat}: {prefix}"
        return None, None

    def decide(self, table: pa.Table):
        results = [self.check(u) for u in table.column(schema.URL).to_pylist()]
        return [r for r, _ in results], [d for _, d in results]
