"""Draw exactly N training tokens from an arm's documents, seeded, optionally to given domain shares.

Every row gets a key: a hash of its text and of its occurrence number (a mix repeats documents, and
each copy is its own row), mixed with the seed. Rows are taken in key order, so the same seed draws
the same documents whatever the file order, and another seed draws another sample. Documents are
encoded ``[BOS] tokens [EOS]`` (the trainer's packing, ``curation.train.data``) and the stream is cut
into ``n_seqs`` windows of ``seq_len + 1`` tokens; the ``seq_len`` inputs of each window are the
tokens trained on, so an arm trains on exactly ``n_seqs x seq_len`` tokens. When the source holds
fewer tokens, it is read again in the same order (``epochs`` > 1 is reported).

With ``shares`` (domain -> token share, e.g. another arm's), each domain fills its own quota from
its own documents in key order and the domains are interleaved by key: the arm keeps its
documents and changes only its domain weights (``--match-domains``, the mix search). Rows without a
``domain`` column are labelled by the pipeline's own ``language`` and ``domain`` operators (also
without ``shares``, so that every arm reports its domain token shares).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from curation.hashing import U64, hash_strings, fmix64
from curation.evaluation.sources import Source, read_part

CHUNK_DOCS = 256  # documents tokenized per call


@dataclass
class Draw:
    windows: np.ndarray  # int64 [n_seqs, seq_len + 1] token ids
    doc_ids: np.ndarray  # int64 [n_seqs, seq_len + 1] document of each token, 0-based per window
    texts: list[str]  # the documents drawn (each once), for the contamination check
    domain_tokens: dict[str, int]  # tokens per domain in the windows (labelled as in ArmDocs.domains)
    epochs: float  # passes over the source's tokens (per domain, the largest)

    @property
    def tokens(self) -> int:
        return int(self.windows.shape[0] * (self.windows.shape[1] - 1))

    def shares(self) -> dict[str, float]:
        total = sum(self.domain_tokens.values()) or 1
        return {k: v / total for k, v in sorted(self.domain_tokens.items())}


class ArmDocs:
    """All rows of a Source (text, and id/domain/lang when present), read once."""

    def __init__(self, source: Source, label: bool = True, scores: tuple[str, ...] = (),
                 table: pa.Table | None = None):
        self.source = source
        self.label = label  # label unlabelled rows with the pipeline's operators (for shares and matching)
        #: the documents a shared tokenizer is trained on for this arm (a half: its whole pool)
        self.tokenizer_docs = self
        if table is None:
            tables = [read_part(p, source.text_column, scores=scores) for p in source.parts]
            tables = [t for t in tables if t.num_rows]
            if not tables:
                raise ValueError(f"{source.spec}: no documents")
            t = pa.concat_tables(tables, promote_options="default")
            keep = np.asarray(t.column("text").is_valid()) & (np.asarray(_lengths(t.column("text"))) > 0)
            table = t.filter(pa.array(keep))
        self.table = table
        self.texts: list[str] = self.table.column("text").to_pylist()
        h = hash_strings(self.table.column("text"))
        self.base_key = fmix64(h ^ fmix64(_occurrence(h).astype(U64) + U64(0x51ED)))

    def subset(self, mask: np.ndarray, spec: str) -> "ArmDocs":
        """The rows of ``mask`` as an arm of their own (a half of ``--select``), named ``spec``; its
        domain shares are its rows' own, and its tokenizer text is this arm's."""
        from dataclasses import replace

        sub = ArmDocs(replace(self.source, spec=spec, shares=None, notes=[]), self.label,
                      table=self.table.filter(pa.array(mask)))
        if hasattr(self, "_domains"):
            sub._domains = self._domains[mask]
        sub.tokenizer_docs = self.tokenizer_docs
        return sub

    def __len__(self) -> int:
        return len(self.texts)

    def order(self, seed: int) -> np.ndarray:
        return np.argsort(fmix64(self.base_key ^ fmix64(np.full(1, seed + 1, dtype=U64))), kind="stable")

    def domains(self, require: bool = True) -> np.ndarray:
        """Domain label of every row: the ``domain`` column, or the pipeline's operators' label.
        With ``require=False`` (shares for the report only) rows stay unlabelled ("") unless the
        domain model is already in the models folder (no model is trained just to report)."""
        if not hasattr(self, "_domains"):
            if "domain" in self.table.column_names:
                d = self.table.column("domain").to_pylist()
            elif self.label and (require or _domain_model_present()):
                d = label_domains(self.table)
            else:
                return np.full(len(self.texts), "", dtype=object)
            self._domains = np.asarray([x or "" for x in d], dtype=object)
        return self._domains


def _domain_model_present() -> bool:
    from curation.classifiers import models_dir as md

    return bool(md.present(md.resolve(None)).get("domain"))


def _lengths(col) -> pa.Array:
    import pyarrow.compute as pc

    return pc.fill_null(pc.binary_length(col), 0)


def _occurrence(h: np.ndarray) -> np.ndarray:
    """For each row, how many earlier rows have the same hash (0 for the first copy)."""
    n = len(h)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    start = np.r_[True, hs[1:] != hs[:-1]] if n else np.zeros(0, bool)
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0)) if n else np.zeros(0, np.int64)
    occ = np.empty(n, dtype=np.int64)
    occ[order] = np.arange(n) - first
    return occ


def label_domains(table: pa.Table) -> list[str]:
    """Domains by the pipeline's own ``language`` (when no ``lang`` column) and ``domain`` operators."""
    from curation.operators.domain import Domain
    from curation.operators.base import ready
    from curation.operators.language import Language

    t = table.select(["text"] + [c for c in ("lang",) if c in table.column_names])
    if "id" not in t.column_names:
        t = t.append_column("id", pa.array([str(i) for i in range(t.num_rows)]))
    if "lang" not in t.column_names:
        t = ready(Language({})).process(t).kept
    return ready(Domain({})).process(t).kept.column("domain").to_pylist()


def _encode(tokenizer, texts: list[str]) -> list[np.ndarray]:
    return [np.asarray(x, dtype=np.int64) for x in tokenizer.encode_batch(texts)]


def draw(docs: ArmDocs, tokenizer, seed: int, n_seqs: int, seq_len: int,
         shares: dict[str, float] | None = None, max_epochs: int = 64) -> Draw:
    """``n_seqs`` windows of ``seq_len + 1`` tokens from ``docs`` (see the module docstring)."""
    need = n_seqs * (seq_len + 1)
    order = docs.order(seed)
    if shares:
        dom = docs.domains()
        total = sum(v for v in shares.values() if v > 0)
        quotas = {d: int(np.ceil(need * v / total)) for d, v in shares.items() if v > 0}
        pools = {d: order[dom[order] == d] for d in quotas}
        empty = [d for d, p in pools.items() if len(p) == 0]
        if empty:
            raise ValueError(f"{docs.source.spec}: no documents of domain(s) {', '.join(empty)} to match")
    else:
        quotas, pools = {"": need}, {"": order}
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    picked: list[tuple[int, int, np.ndarray, str, int]] = []  # (epoch, rank, ids, domain, row)
    epochs: dict[str, float] = {}
    for d, pool in pools.items():
        got, pos, epoch = 0, 0, 0
        while got < quotas[d]:
            if pos >= len(pool):
                pos, epoch = 0, epoch + 1
                if epoch >= max_epochs:
                    raise ValueError(f"{docs.source.spec}: {d or 'the source'} has too few tokens for {quotas[d]:,}")
            rows = pool[pos: pos + CHUNK_DOCS]
            pos += len(rows)
            for r, ids in zip(rows, _encode(tokenizer, [docs.texts[i] for i in rows])):
                if got >= quotas[d]:
                    break
                ids = ids[: quotas[d] - got]  # each domain exactly at its quota
                picked.append((epoch, int(rank[r]), ids, d, int(r)))
                got += len(ids)
        epochs[d] = epoch + (pos / len(pool) if len(pool) else 0)
    picked.sort(key=lambda x: (x[0], x[1]))  # domains interleaved by key, epoch by epoch
    lens = np.fromiter((len(p[2]) for p in picked), dtype=np.int64, count=len(picked))
    stream = np.concatenate([p[2] for p in picked])[:need]
    doc = np.repeat(np.arange(len(picked)), lens)[:need]
    if len(stream) < need:
        raise ValueError(f"{docs.source.spec}: drew {len(stream):,} tokens, need {need:,}")
    windows = stream.reshape(n_seqs, seq_len + 1)
    doc_w = doc.reshape(n_seqs, seq_len + 1)
    doc_w = doc_w - doc_w[:, :1]
    used = picked[: int(doc[-1]) + 1]  # documents with at least one token in the windows
    lab = docs.domains(require=shares is not None)
    labels = np.asarray([lab[p[4]] for p in used], dtype=object)
    uniq, counts = np.unique(labels[doc].astype(str), return_counts=True)
    dom_tokens = {str(k): int(v) for k, v in zip(uniq, counts)}
    texts = [docs.texts[i] for i in sorted({p[4] for p in used})]
    return Draw(windows, doc_w, texts, dom_tokens, max(epochs.values()) if epochs else 0.0)
