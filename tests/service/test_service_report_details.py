"""The report's details on a real run with language, domain and heuristics: characters beside
documents in the funnel, a funnel per language and per domain, each filter's threshold on its
histograms, all-zero columns left out, round axis ticks, escaped rejected text per reason and the
total run time."""

from __future__ import annotations

import json
import re
import shutil
from html import escape

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from svc_helpers import ROOT, run_chromium

PIPELINE = ROOT / "tests" / "service" / "report_pipeline.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory, ray_local):
    from curation.classifiers import models_dir as md
    from curation.config import load_pipeline
    from curation.engine.runner import RunOptions, run_pipeline
    from curation.report import build_report

    md.ensure(None, ("domain",), quiet=True)
    out = tmp_path_factory.mktemp("rep") / "run"
    run_pipeline(load_pipeline(PIPELINE), [str(ROOT / "sample" / "warc")], str(out),
                 RunOptions(workers=2, progress=False))
    return out, build_report(out).read_text(encoding="utf-8")


def _q(run, sql):
    from curation.query import query

    return query(run, sql)[1]


def _row(html, stage):
    m = re.search(rf'<tr><td class="l">{stage}</td>((?:<td class="">[^<]*</td>)+)</tr>', html)
    assert m, stage
    return [c.replace(",", "") for c in re.findall(r'<td class="">([^<]*)</td>', m.group(1))]


def test_funnel_has_characters_beside_documents(run):
    out, html = run
    assert "characters kept" in html and "tokens kept" in html
    (chars,), = _q(out, "SELECT sum(length(text)) FROM heuristics")
    row = _row(html, "heuristics")
    assert int(row[-2]) == chars and row[-1] == "-"  # no tokens column before the mix


def test_funnel_per_language_and_domain(run):
    out, html = run
    assert "Funnel by lang" in html and "Funnel by domain" in html
    lang = dict(_q(out, "SELECT lang, count(*) FROM heuristics GROUP BY 1"))
    head = re.search(r"<h3>Funnel by lang.*?<thead><tr>(.*?)</tr>", html, re.S).group(1)
    cols = re.findall(r"<th[^>]*>([^<]*)</th>", head)[1:]
    sect = html[html.index("<h3>Funnel by lang"):]
    counts = _row(sect, "heuristics")
    assert dict(zip(cols, map(int, counts))) == {c: lang.get(c, 0) for c in cols}
    assert sum(map(int, counts)) == sum(lang.values())  # every language shown (fewer than 12 here)


def test_thresholds_are_drawn_on_their_histograms(run):
    _, html = run
    cfg = json.loads((run[0] / "run.json").read_text())["config"]
    params = next(s["params"] for s in cfg["stages"] if s["op"] == "heuristics")
    assert f"heuristics.min_words = {params['min_words']:,}" in html
    drawn = re.findall(r'class="threshold"[^>]*><title>([^<]*)</title>', html)
    assert drawn and all(t.startswith(("heuristics.", "language.")) for t in drawn), drawn
    # on the words histogram, the line sits where min_words is on its axis (log or linear)
    words = html[html.index("<h3>words</h3>"):]
    words = words[:words.index("</svg>")]
    assert f"heuristics.min_words = {params['min_words']:,}" in words


def test_axis_ticks_are_round_numbers():
    from curation.report.svg import nice_ticks, tick_label

    assert nice_ticks(1, 65846, True) == [1, 10, 100, 1000, 10000]
    assert nice_ticks(0, 0.93, False) == [0, 0.2, 0.4, 0.6, 0.8]
    assert nice_ticks(157, 900, True) == [200, 500]
    assert [tick_label(v) for v in (10000, 1500000, 0.25, 3)] == ["10k", "1.5M", "0.25", "3"]


def test_rejected_text_and_run_time(run):
    out, html = run
    (reason, text), = _q(out, "SELECT reason, left(text, 200) FROM rejected WHERE stage = 'heuristics' "
                              "AND length(text) > 0 ORDER BY id LIMIT 1")
    assert escape(text) in html
    prog = json.loads((out / "progress.json").read_text())["stages"].values()
    secs = int(round(max(w["updated"] for w in prog) - min(w["started"] for w in prog)))
    assert f"<b>{secs // 60}m {secs % 60:02d}s</b>run time" in html and "Total run time" in html


def test_all_zero_columns_are_left_out_and_snippets_escaped(run, tmp_path):
    from curation.report import build_report

    src, _ = run
    r = tmp_path / "run"
    shutil.copytree(src, r)
    final = r / json.loads((r / "run.json").read_text())["groups"][-1]["name"]
    for f in sorted(final.glob("part-*.parquet")):
        t = pq.read_table(f)
        pq.write_table(t.append_column("always_zero", pa.array([0] * t.num_rows, pa.int32())), f)
    for f in sorted((r / "rejected").glob("*/part-*.parquet")):
        t = pq.read_table(f)
        texts = ["<img src=x onerror=alert(1)> bad page"] * t.num_rows
        t = t.set_column(t.schema.get_field_index("text"), "text", pa.array(texts, t.schema.field("text").type))
        pq.write_table(t, f)
    html = build_report(r).read_text()
    assert "distribution of always_zero" not in html
    assert "Zero for every document (not drawn)" in html and "<code>always_zero</code>" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt; bad page" in html


def test_details_render_in_chromium(run, chromium):
    out, _ = run
    dom = run_chromium(chromium, (out / "report.html").as_uri(), "--dump-dom")
    assert dom.returncode == 0
    text = dom.stdout.decode("utf-8", "replace")
    assert len(re.findall(r'class="threshold"', text)) >= 3
    assert len(re.findall(r'<div class="snip">', text)) >= 3
