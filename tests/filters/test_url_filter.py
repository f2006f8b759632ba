import pytest

from curation.operators.url_filter import UrlFilter
from tests.filters.conftest import doc_table

URLS = ["https://www.pornhub.com/view?x=1", "http://de.xhamster.com/videos/a", "https://www.spokeo.com/John-Smith",
        "https://en.wikipedia.org/wiki/Pornography", "https://notpornhub.com/", None,
        "https://blog.example.org/private/diary.html", "https://blog.example.org/public/post.html"]


def test_default_list_subdomains_and_user_file(tmp_path):
    lst = tmp_path / "mine.txt"
    lst.write_text("# my list\nexample.org/private/   personal   # a URL prefix\n", encoding="utf-8")
    op = UrlFilter({"blocklists": [str(lst)]})
    op.setup()  # the engine's job in a run
    res = op.process(doc_table(["x"] * len(URLS), url=URLS))
    rej = dict(zip(res.rejected.column("url").to_pylist(), res.rejected.column("detail").to_pylist()))
    reasons = dict(zip(res.rejected.column("url").to_pylist(), res.rejected.column("reason").to_pylist()))
    assert rej == {URLS[0]: "adult: pornhub.com", URLS[1]: "adult: xhamster.com", URLS[2]: "pii: spokeo.com",
                   URLS[6]: "personal: example.org/private/"}
    assert reasons[URLS[6]] == "blocked_url" and reasons[URLS[0]] == "blocked_domain"
    assert res.kept.column("url").to_pylist() == [URLS[3], URLS[4], None, URLS[7]]


def test_missing_list_is_an_error(tmp_path):
    op = UrlFilter({"blocklists": [str(tmp_path / "nope.txt")]})
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        op.setup()
