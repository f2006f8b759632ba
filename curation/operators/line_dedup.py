"""line_dedup: Llama 3 / CCNet-style line deduplication within groups of N documents (global).

Llama 3 (Section 3.1.1): "we remove lines that appeared more than 6 times in each bucket of 30M
documents". Documents are numbered in corpus order (shard by shard, as the engine reports in the shard context:
``docs_before`` + ``batch_offset``), and document ``k`` belongs to group ``k // group_docs``: deterministic, whatever
the number of workers. Lines are normalized (NFKC, lowercase, digits to 0, punctuation and
whitespace folded; CCNet's ``normalize_for_dedup`` also folds digits) and hashed to 64 bits.

* collect (per shard): exact counts of each (group, normalized line) -> ``key`` = hash of both,
  ``count`` (by default the number of documents holding the line: a line repeated inside one
  document counts once; ``count: occurrences`` counts every occurrence).
* combine (per key partition): the counts of a key from every shard are summed, exactly (no
  Bloom filter or sketch: a Bloom filter can tell "seen" but cannot count to 6). Keys counted more
  than ``max_occurrences`` times become decisions routed to each shard that holds them.
* apply (per shard): every occurrence of those lines is removed, including the first. Lines that
  are blank after normalization are never counted nor removed. A document left with no line is
  rejected (``empty_after_line_dedup``); one that lost lines and has fewer than ``min_words``
  words (``curation.text.words``, as heuristics counts them) left is rejected (``too_short_after_line_dedup``). Kept documents get ``lines_removed``.

With ``domains`` (and a ``domain`` column), only documents of those domains take part: the pipeline
default leaves code and math pages alone (their repeated lines are content, not boilerplate).
"""

from __future__ import annotations

from typing import Literal, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curation import schema
from curation.hashing import U64, fmix64
from curation.dedup.text import line_hashes, split_lines
from curation.operators.base import KEY, SHARD, GlobalOperator, OpResult, Params, in_domains, with_columns
from curation.operators.context import ShardContext
from curation.text.words import word_counts

GROUP_SALT = U64(0xD6E8FEB86659FD93)


class LineDedupParams(Params):
    # Llama 3 report, Section 3.1.1: buckets of 30M documents, lines seen more than 6 times removed.
    group_docs: int = Field(30_000_000, ge=1)
    max_occurrences: int = Field(6, ge=1)
    # "documents": a line counts once per document that holds it, so structure repeated inside one
    # document ("Article 1" ... "Article 30" fold to one line once digits are folded) is left to the
    # repetition heuristics (Gopher's duplicate-line fraction); "occurrences" counts every line.
    count: Literal["documents", "occurrences"] = "documents"
    # Gopher (Rae et al. 2021) drops documents under 50 words; applied here only to documents that
    # lost lines (untouched short documents are left to the heuristics stage).
    min_words: int = Field(50, ge=0)
    # Domains whose lines are counted and removed (column ``domain``, from the domain stage); other
    # documents pass untouched and their lines are not counted. None: every document. Llama 3 runs
    # separate pipelines for code and math (Section 3.1.1): a code page's import lines and a worked
    # answer's "#### 42" line repeat across documents by nature, and are not boilerplate.
    domains: Optional[list[str]] = None


class LineDedup(GlobalOperator):
    name = "line_dedup"
    provides = ("lines_removed",)
    Params = LineDedupParams
    wants_positions = True

    def _groups(self, n: int, ctx: ShardContext) -> np.ndarray:
        """The group of each of the batch's ``n`` documents, from their ordinals in the corpus."""
        first = (ctx.docs_before or 0) + ctx.batch_offset
        return np.arange(first, first + n, dtype=np.int64) // self.params.group_docs

    def _line_keys(self, table: pa.Table, ctx: ShardContext):
        lines = split_lines(table.column(schema.TEXT))
        h, doc, blank = line_hashes(lines)
        if self.params.domains is not None:
            blank = blank | ~in_domains(table, self.params.domains)[doc]  # other domains: not counted nor removed
        groups = self._groups(table.num_rows, ctx)
        keys = fmix64(h ^ fmix64(groups.astype(U64)[doc] ^ GROUP_SALT))
        return lines, keys, doc, blank

    def collect(self, table: pa.Table, ctx: ShardContext) -> pa.Table:
        _, keys, doc, blank = self._line_keys(table, ctx)
        keys, doc = keys[~blank], doc[~blank]
        if self.params.count == "documents":
            pairs = np.unique(np.stack([doc.astype(U64), keys], axis=1), axis=0)
            keys = pairs[:, 1]
        uniq, counts = np.unique(keys, return_counts=True)
        return pa.table({KEY: pa.array(uniq, pa.uint64()), "count": pa.array(counts.astype(np.int64))})

    def combine(self, rows: pa.Table) -> pa.Table:
        out_schema = pa.schema([(KEY, pa.uint64()), (SHARD, pa.int32())])
        if rows.num_rows == 0:
            return out_schema.empty_table()
        key = rows.column(KEY).to_numpy()
        count = rows.column("count").to_numpy()
        shard = rows.column(SHARD).to_numpy()
        order = np.lexsort((shard, key))
        key, count, shard = key[order], count[order], shard[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        totals = np.add.reduceat(count, starts)
        frequent = np.repeat(totals > self.params.max_occurrences, np.diff(np.r_[starts, len(key)]))
        key, shard = key[frequent], shard[frequent]
        dup = np.zeros(len(key), dtype=bool)
        dup[1:] = (key[1:] == key[:-1]) & (shard[1:] == shard[:-1])
        return pa.table({KEY: pa.array(key[~dup], pa.uint64()), SHARD: pa.array(shard[~dup], pa.int32())},
                        schema=out_schema)

    def apply(self, table: pa.Table, decisions: pa.Table, ctx: ShardContext) -> OpResult:
        lines, keys, doc, blank = self._line_keys(table, ctx)
        n = table.num_rows
        bad = decisions.column(KEY).to_numpy() if KEY in decisions.column_names else np.zeros(0, U64)
        remove = np.isin(keys, bad) & ~blank
        removed = np.bincount(doc[remove], minlength=n)
        content = np.bincount(doc[~blank & ~remove], minlength=n)
        changed = removed > 0
        text = table.column(schema.TEXT)
        if changed.any():
            keep = ~remove
            lo = np.r_[0, np.cumsum(np.bincount(doc[keep], minlength=n))].astype(np.int32)
            values = lines.flatten().filter(pa.array(keep))
            joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(lo), values), pa.scalar("\n", values.type))
            new_text = pc.if_else(pa.array(changed), joined.cast(text.type), text)
            table = table.set_column(table.schema.get_field_index(schema.TEXT), schema.TEXT, new_text)
        words = word_counts(table.column(schema.TEXT)) if changed.any() else np.zeros(n, np.int64)
        total = np.bincount(doc[~blank], minlength=n)
        reasons, details = [], []
        for i in range(n):
            if changed[i] and content[i] == 0:
                reasons.append("empty_after_line_dedup")
            elif changed[i] and words[i] < self.params.min_words:
                reasons.append("too_short_after_line_dedup")
            else:
                reasons.append(None)
            details.append(f"{removed[i]} of {total[i]} lines removed" if changed[i] else None)
        table = with_columns(table, {"lines_removed": pa.array(removed.astype(np.int32))})
        return self.split(table, reasons, details)
