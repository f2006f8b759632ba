"""`curate report`: a self-contained report.html built from a real run, rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from svc_helpers import color_counts, png_pixels, run_chromium

KEPT_RGB = (0x4C, 0x78, 0xA8)
REJECTED_RGB = (0xE4, 0x57, 0x56)


@pytest.fixture(scope="module")
def report(service_run):
    from curation.report import build_report

    path = build_report(service_run)
    return path, path.read_text(encoding="utf-8")


def test_report_is_self_contained(report, service_run):
    path, html = report
    assert path == service_run / "report.html"
    # no network: no scripts, no external references, and a CSP that forbids any fetch
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html, re.I)
    assert "default-src 'none'" in html
    assert "@import" not in html and "url(" not in html


def test_report_numbers_match_the_run(report, service_run):
    from curation.status import run_status

    _, html = report
    st = run_status(service_run)
    ex = st["stages"]["extract"]
    assert ex["rejected"] > 0
    # the funnel table carries the same numbers as `curate status`
    row = re.search(r"<tr><td class=\"l\">extract</td><td class=\"\">([\d,]+)</td><td class=\"\">([\d,]+)</td>"
                    r"<td class=\"\">([\d,]+)</td>", html)
    assert row, "funnel row for extract not found"
    assert [int(x.replace(",", "")) for x in row.groups()] == [ex["in"], ex["kept"], ex["rejected"]]
    # every section is there, each chart with its numbers
    for section in ("funnel", "distributions", "mix", "reasons", "timing"):
        assert f'<section id="{section}">' in html
    assert "text length (characters)" in html
    assert "empty_extraction" in html
    # example URLs of a reject reason come from the rejected rows
    from curation.query import query

    _, rows = query(service_run, "SELECT url FROM rejected WHERE reason = 'empty_extraction' ORDER BY id LIMIT 1")
    from html import escape

    assert escape(rows[0][0]) in html


def test_report_renders_in_chromium(report, chromium, tmp_path):
    path, _ = report
    dom = run_chromium(chromium, path.as_uri(), "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout.decode("utf-8", "replace")
    n_svg = len(re.findall(r"<svg\b", text))
    n_bars = len(re.findall(r'<rect class="bar"', text))
    assert n_svg >= 5, n_svg  # funnel, reasons, length histogram, worker time, wall time
    assert n_bars >= 20, n_bars

    shot = tmp_path / "report.png"
    res = run_chromium(chromium, path.as_uri(), f"--screenshot={shot}", "--window-size=1280,2400",
                       "--hide-scrollbars")
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    img = png_pixels(shot.read_bytes())
    non_white, counts = color_counts(img, {"kept": KEPT_RGB, "rejected": REJECTED_RGB})
    assert non_white > 0.02 * img.shape[0] * img.shape[1]  # not blank
    # the bars were painted: the kept and the rejected colours are on screen
    assert counts["kept"] > 2000, counts
    assert counts["rejected"] > 200, counts


def test_report_shows_scores_and_mix_when_the_run_has_them(service_run, tmp_path, chromium):
    """A run whose output carries score columns and a manifest gets their distributions and the mix chart."""
    from curation.report import build_report

    run = tmp_path / "run"
    shutil.copytree(service_run, run)
    run_json = json.loads((run / "run.json").read_text())
    final = run / run_json["groups"][-1]["name"]
    domains = ["general", "math", "code", "multilingual"]
    tokens = {d: 0 for d in domains}
    for f in sorted(final.glob("part-*.parquet")):
        t = pq.read_table(f)
        n = t.num_rows
        lengths = [len(x) for x in t.column("text").to_pylist()]
        # a score column and a label column derived from each document (stand-ins for quality/lang/domain)
        t = t.append_column("quality_fasttext", pa.array([min(1.0, L / 5000) for L in lengths], pa.float32()))
        t = t.append_column("lang", pa.array(["ja" if any(ord(c) > 0x3000 for c in x[:200]) else "en"
                                              for x in t.column("text").to_pylist()]))
        dom = [domains[i % 4] for i in range(n)]
        t = t.append_column("domain", pa.array(dom))
        for d, L in zip(dom, lengths):
            tokens[d] += L // 4
        pq.write_table(t, f)
    total = sum(tokens.values())
    (run / "manifest.json").write_text(json.dumps({
        "format": "curation.mix/1", "tokenizer": "chars/4",
        "mix": {"files": [], "documents": {}, "tokens": tokens},
        "target_mix": {"general": 0.5, "math": 0.25, "code": 0.17, "multilingual": 0.08},
        "achieved_mix": {d: v / total for d, v in tokens.items()},
    }))
    html = build_report(run).read_text()
    assert "quality_fasttext" in html and "distribution of quality_fasttext" in html
    assert "kept documents by lang" in html and "kept documents by domain" in html
    assert "target and achieved domain mix" in html and "no <code>manifest.json</code>" not in html
    dom = run_chromium(chromium, (run / "report.html").as_uri(), "--dump-dom")
    assert len(re.findall(r"<svg\b", dom.stdout.decode())) >= 9


def test_report_escapes_markup_from_data(service_run, tmp_path):
    """A URL or reason holding markup is shown as text: nothing from the crawl runs in the browser."""
    from curation.report import build_report

    run = tmp_path / "run"
    shutil.copytree(service_run, run)
    for f in sorted((run / "rejected" / "extract").glob("part-*.parquet")):
        t = pq.read_table(f)
        urls = ['http://x.test/"><script>alert(1)</script>'] * t.num_rows
        t = t.set_column(t.schema.get_field_index("url"), "url", pa.array(urls, t.schema.field("url").type))
        pq.write_table(t, f)
    html = build_report(run).read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_stays_inside_the_run_folder(service_run):
    from curation.cli import main
    from curation.report import build_report

    with pytest.raises(ValueError, match="outside the output folder"):
        build_report(service_run, "../escaped.html")
    assert not (service_run.parent / "escaped.html").exists()
    assert main(["report", str(service_run), "--name", "/tmp/elsewhere.html"]) == 2


def test_report_command_prints_path(service_run, capsys):
    from curation.cli import main

    assert main(["report", str(service_run)]) == 0
    assert capsys.readouterr().out.strip() == str(service_run / "report.html")
