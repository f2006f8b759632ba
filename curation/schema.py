"""Column names and Arrow schemas shared by readers, operators and the engine.

A *document table* always has the columns of ``DOC_SCHEMA``; operators add columns of their own
(``lang``, ``quality_fasttext``, ...). A *rejected table* holds the dropped rows of one stage: the
document's metadata columns (never the raw ``html``), plus ``stage``, ``reason`` and ``detail``.
"""

from __future__ import annotations

import pyarrow as pa

ID = "id"
URL = "url"
FETCH_TIME = "fetch_time"
SOURCE = "source"
HTML = "html"
TEXT = "text"
STAGE = "stage"
REASON = "reason"
DETAIL = "detail"

DOC_SCHEMA = pa.schema(
    [
        pa.field(ID, pa.string(), nullable=False),
        pa.field(URL, pa.string()),
        pa.field(FETCH_TIME, pa.timestamp("s", tz="UTC")),
        pa.field(SOURCE, pa.string()),
        pa.field(HTML, pa.large_string()),
        pa.field(TEXT, pa.large_string()),
    ]
)

REJECT_FIELDS = [
    pa.field(STAGE, pa.string()),
    pa.field(REASON, pa.string()),
    pa.field(DETAIL, pa.string()),
]

#: rejection reasons that are sampling, not a judgement of the document: the mix stage's documents that
#: drew no copy (``curate status`` and report.html count them as "sampled out", apart from filters)
SAMPLED_OUT_REASONS = ("not_sampled",)

#: The name of shard ``i`` (``part-00003``): the stem of its files in every folder of a run
#: (curation.run.layout) and its name in logs and progress (curation.io.sources.Shard.name).
SHARD_NAME = "part-{:05d}"

# Columns never copied into rejected rows (they can be huge and are recoverable from the input).
HEAVY_COLUMNS = (HTML,)
