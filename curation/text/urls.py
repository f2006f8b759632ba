"""URL normalization for deduplication.

Two fetches are the same URL when they differ only in: scheme and host case, a default port
(80/443), a trailing slash, the fragment, the order of query parameters, tracking parameters
(``utm_*``, ``gclid``, ``fbclid``, ...), ``www.`` on the host, or ``http`` versus ``https``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Campaign/click trackers: Google Analytics (utm_*), Matomo/Piwik (pk_*, mtm_*), HubSpot (hsa_*,
# _hsenc, _hsmi), ad click ids (gclid, dclid, fbclid, msclkid, yclid, ...), Mailchimp (mc_*).
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
TRACKING_PARAMS = frozenset(
    {"gclid", "gclsrc", "fbclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga", "_gl",
     "ref_src", "spm", "_hsenc", "_hsmi", "mkt_tok", "srsltid", "twclid", "ttclid", "wbraid", "gbraid"}
)


def normalize_url(url: str | None) -> str | None:
    if not url:
        return None
    url = url.strip().strip("<>")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return url
    if host.startswith("www."):
        host = host[4:]
    scheme = parts.scheme.lower()
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith(TRACKING_PREFIXES) and k.lower() not in TRACKING_PARAMS]
    query.sort()
    scheme = "http" if scheme in ("http", "https") else scheme
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))
