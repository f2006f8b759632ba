"""decontaminate: remove (or mark) documents that share long word n-grams with evaluation sets.

A document is contaminated when it contains at least ``min_matches`` distinct word 13-grams of an
evaluation set (GPT-3, Brown et al. 2020, Appendix C: 13-gram overlap between training documents
and every benchmark; the Llama 3 report, Section 5.1.4, runs an n-gram contamination analysis of
its benchmarks; datatrove's ``NGramsDecont`` removes documents on n-gram hits too). A 13-gram is
the project's one definition (``curation.dedup.ngrams.doc_ngrams``): 13 consecutive
tokens of ``curation.dedup.text.tokens`` (NFKC, lowercase, punctuation and symbols folded, one token
per character in scripts written without spaces), hashed to 64 bits. Texts shorter than 13 tokens
give none, so an evaluation item shorter than that cannot be detected.

Evaluation sets:

* bundled (``curation/data/decontam/``, see SOURCES.md there): ``gsm8k_test``, the 1,319 GSM8K test
  problems, one item per problem: question + worked answer, and again question + answer with the
  calculator annotations (``<<48/2=24>>``) removed, as the solution usually appears on the web;
  ``humaneval``, the 164 HumanEval problems, one item per problem: prompt + canonical solution
  (the whole function as a model would be trained on it).
* user files (``files``): ``.jsonl`` / ``.jsonl.gz`` with the item text in ``text`` (or in the
  fields named by ``text_fields``, joined with a newline), or ``.txt`` / ``.txt.gz`` with one item
  a line. A set is named by its file's stem (``mmlu_test.jsonl.gz`` -> ``mmlu_test``). Local paths
  are made absolute when the pipeline file is read; ``s3://`` and other URIs are read as they are.

Each worker builds one sorted ``uint64`` array of every set's distinct n-grams (with a bit mask of
the sets holding each) in ``setup()``; a batch is tokenized in Arrow, its n-grams looked up in a
presence table on the hashes' top bits and, the few that hit, with ``np.searchsorted``: no Python
per word nor per document except the few contaminated ones.

``mode: remove`` (default) rejects a contaminated document with reason ``contaminated`` and a
detail naming the set(s) and their matched n-gram counts (``gsm8k_test: 41 13-grams``); ``mode:
mark`` keeps it. Both write ``contaminated_ngrams`` (int32: distinct evaluation n-grams found in the
document, 0 when none) and ``contaminated_by`` (string: the sets, comma-separated, of a document
that reaches ``min_matches``; null otherwise).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from curation import schema
from curation.dedup.ngrams import NGRAM, doc_ngrams
from curation.io import fs as fsx
from curation.operators.base import Params
from curation.operators.filter import Decision, Filter

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "data" / "decontam"
#: bundled set name -> file in BUNDLED_DIR
BUNDLED = {"gsm8k_test": "gsm8k_test.jsonl.gz", "humaneval": "HumanEval.jsonl.gz"}
USER_SUFFIXES = (".jsonl.gz", ".jsonl", ".txt.gz", ".txt")
#: at most this many sets (one bit each in a uint64 mask)
MAX_SETS = 64
NGRAMS_COLUMN = "contaminated_ngrams"
BY_COLUMN = "contaminated_by"
_CALC = re.compile(r"<<[^<>]*>>")


class DecontaminateParams(Params):
    #: words per n-gram: 13 (GPT-3 Appendix C; the length `curate evaluate` checks too)
    ngram: int = Field(NGRAM, ge=1, le=64)
    #: bundled evaluation sets (curation/data/decontam/): gsm8k_test, humaneval
    bundled: list[str] = ["gsm8k_test", "humaneval"]
    #: the user's evaluation sets: .jsonl/.jsonl.gz (``text_fields``) or .txt/.txt.gz (one item a line)
    files: list[str] = []
    #: fields of a user .jsonl row that make its item, joined with a newline (missing fields skipped)
    text_fields: list[str] = ["text"]
    #: remove: reject contaminated documents (reason ``contaminated``); mark: keep them, columns only
    mode: Literal["remove", "mark"] = "remove"
    #: distinct evaluation n-grams a document needs to count as contaminated. 1: any shared 13-gram,
    #: as GPT-3 (Appendix C) and datatrove's NGramsDecont; natural text shares no 13-gram by chance
    #: (0 of sample/'s 628 documents, 0 of 1,729 real pages: tests/filters, bench/decontaminate.py)
    min_matches: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _names_differ(self):
        clash = sorted({set_name(f) for f in self.files} & set(self.bundled))
        if clash:
            raise ValueError(f"evaluation files named like a bundled set: {clash} (rename the file or drop it from bundled)")
        if len(self.bundled) + len(self.files) > MAX_SETS:
            raise ValueError(f"at most {MAX_SETS} evaluation sets")
        return self

    @field_validator("bundled")
    @classmethod
    def _known_sets(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in BUNDLED]
        if unknown:
            raise ValueError(f"unknown bundled set(s) {unknown}; bundled: {sorted(BUNDLED)}")
        return list(dict.fromkeys(v))

    @field_validator("files")
    @classmethod
    def _user_files(cls, v: list[str]) -> list[str]:
        out = []
        for f in v:
            if not f.lower().endswith(USER_SUFFIXES):
                raise ValueError(f"{f}: an evaluation file must end with one of {', '.join(USER_SUFFIXES)}")
            if fsx.is_uri(f) and not fsx.is_local(f):
                out.append(f)
                continue
            fs, path = fsx.resolve(f)
            if not fsx.is_file(fs, path):
                raise ValueError(f"evaluation file not found: {f}")
            out.append(path)
        names = [set_name(f) for f in out]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"two evaluation files have the same name (file stem): {dup}")
        return out

    @field_validator("text_fields")
    @classmethod
    def _some_fields(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("text_fields must name at least one field")
        return v


def set_name(path: str) -> str:
    """An evaluation set's name: its file name without folder and suffix."""
    name = fsx.basename(path)
    for suffix in USER_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _lines(data: bytes, path: str) -> list[str]:
    if path.lower().endswith(".gz"):
        data = gzip.decompress(data)
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read().splitlines()


def bundled_items(name: str) -> list[str]:
    """The item texts of a bundled set (see the module docstring for what an item is)."""
    rows = [json.loads(x) for x in _lines((BUNDLED_DIR / BUNDLED[name]).read_bytes(), BUNDLED[name]) if x.strip()]
    if name == "gsm8k_test":
        items = []
        for r in rows:
            q, a = r["question"].strip(), r["answer"].strip()
            items += [q + "\n" + a, q + "\n" + _CALC.sub("", a)]
        return items
    if name == "humaneval":
        return [r["prompt"] + r["canonical_solution"] for r in rows]
    raise KeyError(name)  # pragma: no cover - guarded by the params validator


def file_items(path: str, text_fields: list[str]) -> list[str]:
    """The item texts of a user file: .txt one a line; .jsonl the ``text_fields`` of each row."""
    with fsx.open_binary(path) as f:
        lines = _lines(f.read(), path)
    if path.lower().endswith((".txt", ".txt.gz")):
        return [x for x in lines if x.strip()]
    items = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"decontaminate: {path} line {i}: not JSON ({e.msg})") from None
        parts = [str(row[f]) for f in text_fields if isinstance(row, dict) and row.get(f) is not None]
        if not parts:
            raise ValueError(f"decontaminate: {path} line {i}: none of the fields {text_fields}")
        items.append("\n".join(parts))
    return items


def eval_index(sets: dict[str, list[str]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct n-gram hashes of all sets, uint64 mask of the sets holding each: bit i = set i)."""
    grams, owner = [], []
    for i, texts in enumerate(sets.values()):
        g = np.unique(doc_ngrams(texts, n)[0])
        grams.append(g)
        owner.append(np.full(len(g), i, np.uint64))
    if not grams:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    allg = np.concatenate(grams)
    bits = np.left_shift(np.uint64(1), np.concatenate(owner))
    uniq, inv = np.unique(allg, return_inverse=True)
    mask = np.zeros(len(uniq), np.uint64)
    np.bitwise_or.at(mask, inv, bits)
    return uniq, mask


class Decontaminate(Filter):
    name = "decontaminate"
    provides = (NGRAMS_COLUMN, BY_COLUMN)
    Params = DecontaminateParams

    def setup(self) -> None:
        p: DecontaminateParams = self.params
        sets = {name: bundled_items(name) for name in p.bundled}
        for f in p.files:
            sets[set_name(f)] = file_items(f, p.text_fields)
        self.set_names = list(sets)
        self.grams, self.masks = eval_index(sets, p.ngram)
        # a direct-mapped presence table on the top bits of the hash: most document n-grams miss
        # it, and only the few that hit (about 1 in 16 + true hits) are binary-searched
        self.table_bits = int(np.clip(np.ceil(np.log2(max(len(self.grams), 1) * 16)), 16, 26))
        self.table = np.zeros(1 << self.table_bits, bool)
        self.table[self.grams >> np.uint64(64 - self.table_bits)] = True

    def matches(self, texts) -> tuple[np.ndarray, np.ndarray]:
        """Per document: distinct evaluation n-grams found (int64), and per set (sets x docs int64)."""
        n_docs = len(texts)
        counts = np.zeros(n_docs, np.int64)
        by_set = np.zeros((len(self.set_names), n_docs), np.int64)
        if len(self.grams) == 0 or n_docs == 0:
            return counts, by_set
        grams, doc = doc_ngrams(texts, self.params.ngram)
        cand = np.flatnonzero(self.table[grams >> np.uint64(64 - self.table_bits)])
        pos = np.searchsorted(self.grams, grams[cand])
        pos[pos == len(self.grams)] = 0
        hit = self.grams[pos] == grams[cand]
        if not hit.any():
            return counts, by_set
        # distinct (document, eval n-gram) pairs: a passage repeated in a page counts once
        pairs = np.unique(np.stack([doc[cand[hit]], pos[hit]]), axis=1)
        pdoc, pmask = pairs[0], self.masks[pairs[1]]
        counts = np.bincount(pdoc, minlength=n_docs)
        for i in range(len(self.set_names)):
            in_set = (pmask >> np.uint64(i)) & np.uint64(1) == 1
            by_set[i] = np.bincount(pdoc[in_set], minlength=n_docs)
        return counts, by_set

    def decide(self, table: pa.Table) -> Decision:
        p: DecontaminateParams = self.params
        col = table.column(schema.TEXT)
        texts = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        counts, by_set = self.matches(texts)
        n = table.num_rows
        by: list[str | None] = [None] * n
        details: list[str | None] = [None] * n
        for i in np.flatnonzero(counts >= p.min_matches):
            hits = [(name, int(by_set[s, i])) for s, name in enumerate(self.set_names) if by_set[s, i]]
            by[i] = ",".join(name for name, _ in hits)
            details[i] = ", ".join(f"{name}: {c} {p.ngram}-grams" for name, c in hits)
        columns = {NGRAMS_COLUMN: pa.array(counts.astype(np.int32), pa.int32()), BY_COLUMN: pa.array(by, pa.string())}
        if p.mode == "mark":  # marked, never dropped
            return Decision([None] * n, None, columns)
        return Decision(["contaminated" if b is not None else None for b in by], details, columns)
