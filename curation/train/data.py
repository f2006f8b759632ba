"""Data: read a curated run's manifest, tokenize documents, pack them into fixed-length sequences.

The stream is defined globally and independently of the parallel layout: the global batch of step
``t`` is the next ``global_batch_size`` packed sequences, and data-parallel rank ``r`` keeps the
``r``-th contiguous slice of it. So 1 process, dp=2 and dp2 x tp2 see the same tokens, and a
checkpoint taken under one layout resumes under another. The loader's position (file, row,
epoch and the not-yet-packed token buffer) is small and identical on every rank; it is saved in
the checkpoint.

Each packed sequence comes with the id of the document each token belongs to; the model turns
these ids into a document-causal mask (Llama 3: no attention across documents).

With batch-size / sequence-length ramps the caller passes each step's sizes to ``next_batches``;
the stream just cuts its next windows at that length. The sizes are a function of the step (which
the checkpoint holds), so the loader's state stays the same few integers plus token buffer.

Two sources of documents (docs/tokens.md):

* **tokens** (a run with a manifest ``tokens`` section, written by the ``tokenize`` stage): the
  stream is the concatenation of the index's occurrences in training order, read from the token
  files (memory-mapped on local disk, ranged reads on S3/GCS); no tokenizer call. Its state is one integer, the stream position in tokens, and each
  data-parallel rank reads only its own windows (it seeks to them through the index).
* **text** (older runs): ``mix/`` Parquet text, tokenized on the fly; every rank advances the whole
  global stream and keeps its slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

from curation.run.layout import RunLayout
from curation.run.tokens import TokenLayout
from curation.tokens.format import TokenFile, parse_dtype
from curation.tokens.index import IndexParts
from curation.tokens.manifest import read_tokens_section

PHASES = ("mix", "anneal")
SOURCES = ("auto", "tokens", "text")


from curation.run.manifest import Manifest  # noqa: E402  (the run package owns manifest.json)


class DocReader:
    """Reads the text column of a list of Parquet files in order, resumable at (epoch, file, row)."""

    def __init__(self, files: list[Path], text_column: str):
        if not files:
            raise ValueError("no files to read")
        self.files = files
        self.text_column = text_column
        self.epoch = 0
        self.file = 0
        self.row = 0
        self._pf: pq.ParquetFile | None = None
        self._pf_idx = -1
        self._rg_cache: tuple[int, int, list] | None = None  # (file, row group, texts)

    def _parquet(self) -> pq.ParquetFile:
        if self._pf_idx != self.file:
            path = self.files[self.file]
            try:
                self._pf = pq.ParquetFile(path)
            except Exception as e:  # a corrupt file gets an answer naming it
                raise ValueError(f"cannot read Parquet file {path}: {e}") from e
            if self.text_column not in self._pf.schema_arrow.names:
                raise ValueError(f"{path}: no column {self.text_column!r}")
            self._pf_idx = self.file
        return self._pf

    def _row_group_texts(self, rg: int) -> list:
        if self._rg_cache is None or self._rg_cache[:2] != (self.file, rg):
            t = self._parquet().read_row_group(rg, columns=[self.text_column])
            self._rg_cache = (self.file, rg, t.column(0).to_pylist())
        return self._rg_cache[2]

    def read(self, n: int) -> list[str]:
        """The next ``n`` non-empty texts, wrapping to a new epoch at the end of the files."""
        out: list[str] = []
        empty_epochs = 0
        while len(out) < n:
            pf = self._parquet()
            md = pf.metadata
            if self.row >= md.num_rows:
                self.file += 1
                self.row = 0
                if self.file >= len(self.files):
                    self.file = 0
                    self.epoch += 1
                    empty_epochs = empty_epochs + 1 if not out else 0
                    if empty_epochs > 1:
                        raise ValueError(f"no text in {self.files}")
                continue
            # locate the row group holding self.row
            start = 0
            for rg in range(md.num_row_groups):
                rows = md.row_group(rg).num_rows
                if self.row < start + rows:
                    break
                start += rows
            texts = self._row_group_texts(rg)
            take = texts[self.row - start : self.row - start + (n - len(out))]
            self.row += len(take)
            out.extend(t for t in take if t)
        return out

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "file": self.file, "row": self.row}

    def load_state_dict(self, s: dict) -> None:
        self.epoch, self.file, self.row = int(s["epoch"]), int(s["file"]), int(s["row"])
        self._rg_cache = None


class PackedStream:
    """Documents -> ``[BOS] tokens [EOS]`` -> a token buffer cut into sequences of ``seq_len + 1``.

    A document longer than what is left of a sequence continues in the next one. Inputs are
    ``seq[:-1]``, labels ``seq[1:]``; the ``seq_len + 1``-th token is not reused (as in torchtitan).
    """

    def __init__(self, reader: DocReader, tokenizer, seq_len: int, docs_per_read: int = 64):
        self.reader = reader
        self.tok = tokenizer
        self.seq_len = seq_len
        self.docs_per_read = docs_per_read
        self.buf_tokens = np.zeros(0, dtype=np.int64)
        self.buf_docs = np.zeros(0, dtype=np.int64)
        self.doc_counter = 0
        self.sequences = 0

    def _refill(self) -> None:
        texts = self.reader.read(self.docs_per_read)
        if self.tok is None:
            raise ValueError("the text path needs a tokenizer")
        ids = self.tok.encode_batch(texts)
        lens = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        toks = np.fromiter((t for x in ids for t in x), dtype=np.int64, count=int(lens.sum()))
        docs = np.repeat(np.arange(self.doc_counter, self.doc_counter + len(ids), dtype=np.int64), lens)
        self.doc_counter += len(ids)
        self.buf_tokens = np.concatenate([self.buf_tokens, toks])
        self.buf_docs = np.concatenate([self.buf_docs, docs])

    def next(self, seq_len: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The next window of ``seq_len + 1`` tokens (default: the stream's ``seq_len``) and doc ids."""
        need = (seq_len or self.seq_len) + 1
        while len(self.buf_tokens) < need:
            self._refill()
        toks, docs = self.buf_tokens[:need], self.buf_docs[:need]
        self.buf_tokens, self.buf_docs = self.buf_tokens[need:], self.buf_docs[need:]
        self.sequences += 1
        return toks, docs - docs[0]

    def state_dict(self) -> dict:
        return {
            "reader": self.reader.state_dict(),
            "buf_tokens": self.buf_tokens.tolist(),
            "buf_docs": self.buf_docs.tolist(),
            "doc_counter": self.doc_counter,
            "sequences": self.sequences,
        }

    def load_state_dict(self, s: dict) -> None:
        if s.get("source") == "tokens":
            raise ValueError("the checkpoint's loader read token shards; this run reads text: resume with --data tokens")
        self.reader.load_state_dict(s["reader"])
        self.buf_tokens = np.asarray(s["buf_tokens"], dtype=np.int64)
        self.buf_docs = np.asarray(s["buf_docs"], dtype=np.int64)
        self.doc_counter = int(s["doc_counter"])
        self.sequences = int(s["sequences"])


class TokenStream:
    """The token path: the index's occurrences in training order, one after another, cyclic.

    Window ``w`` of a step is tokens ``[pos + w * need, pos + (w + 1) * need)`` of the stream, so a
    rank seeks straight to its own windows; the state is the position ``pos`` (and a count of
    sequences, for the record). Document ids are the occurrence's ordinal in the (cyclic) stream.
    """

    def __init__(self, run: "RunLayout | str | Path", section: dict, phase: str):
        """``run``: the run folder (its ``RunLayout``, local path or URI: s3://... reads remotely)."""
        part = section.get(phase) or {}
        index = part.get("index") or []
        if not index:
            raise ValueError(f"the manifest's tokens section has no {phase} index")
        self.layout = TokenLayout(run)
        self.phase = phase
        self.dtype = parse_dtype(section.get("dtype", ""))
        self.files = [f["path"] for f in part.get("files", [])]
        self.file_tokens = [int(f["tokens"]) for f in part.get("files", [])]
        fs = self.layout.fs
        paths = [self.layout.path(e["path"]) for e in index]
        found = fs.get_file_info(paths)
        for p, info in zip(paths, found):
            if info.type.name != "File":
                raise FileNotFoundError(f"token {phase} file missing: {self.layout.run.display(p)}")
        self.index = IndexParts(paths, [int(e["tokens"]) for e in index], [int(e["documents"]) for e in index],
                                self.files, fs=fs)
        if self.index.total_tokens <= 0:
            raise ValueError(f"the {phase} token index holds no tokens")
        self._maps: dict[int, TokenFile] = {}
        self.pos = 0
        self.sequences = 0

    def _map(self, code: int) -> TokenFile:
        m = self._maps.get(code)
        if m is None:
            rel = self.files[code]
            m = TokenFile(self.layout.fs, self.layout.path(rel), self.dtype, where=self.layout.display(rel))
            if len(m) != self.file_tokens[code]:
                raise ValueError(f"{m.where}: {len(m)} tokens, the manifest says {self.file_tokens[code]} (truncated?)")
            self._maps[code] = m
        return m

    def read(self, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Tokens ``[start, start + n)`` of the cyclic stream (int64) and their document ids."""
        idx = self.index
        total, ndocs = idx.total_tokens, idx.total_docs
        toks = np.empty(n, np.int64)
        docs = np.empty(n, np.int64)
        filled, p = 0, int(start)
        while filled < n:
            epoch, q = divmod(p, total)
            k = idx.part_at(q)
            part = idx.part(k)
            within_part = q - int(idx.part_tokens[k])
            j = int(np.searchsorted(part.cum, within_part, side="right") - 1)
            skip = within_part - int(part.cum[j])
            doc0 = epoch * ndocs + int(idx.part_docs[k])
            while filled < n and j < len(part.length):
                take = min(int(part.length[j]) - skip, n - filled)
                o = int(part.offset[j]) + skip
                toks[filled:filled + take] = self._map(int(part.file[j])).read(o, take)
                docs[filled:filled + take] = doc0 + j
                filled += take
                p += take
                skip = 0
                j += 1
        return toks, docs

    def state_dict(self) -> dict:
        return {"source": "tokens", "pos": self.pos, "sequences": self.sequences}

    def load_state_dict(self, s: dict) -> None:
        if s.get("source") != "tokens":
            raise ValueError("the checkpoint's loader read text (mix/ Parquet); this run reads token shards: "
                             "resume with --data text, or start a new run")
        self.pos, self.sequences = int(s["pos"]), int(s["sequences"])


def token_section(manifest: Manifest, source: str = "auto") -> dict | None:
    """The manifest's tokens section when the loader reads tokens (``source``: auto | tokens | text),
    else None (the text path)."""
    if source not in SOURCES:
        raise ValueError(f"unknown data source {source!r}; known: {list(SOURCES)}")
    if source == "text":
        return None
    section = read_tokens_section(manifest.raw)
    if section is None and source == "tokens":
        raise ValueError(f"{manifest.path} has no tokens section (run the tokenize stage, or use --data text)")
    return section


@dataclass
class Batch:
    inputs: torch.Tensor  # [b, S] int64
    labels: torch.Tensor  # [b, S] int64
    doc_ids: torch.Tensor  # [b, S] int64, document of each input token (0-based per sequence)


class TrainLoader:
    """Global, layout-independent batches; each data-parallel rank keeps its slice. Stateful."""

    def __init__(
        self,
        manifest: Manifest,
        tokenizer,
        seq_len: int,
        global_batch_size: int,
        dp_rank: int = 0,
        dp_size: int = 1,
        grad_accum_steps: int = 1,
        phases: tuple[str, ...] = PHASES,
        source: str = "auto",
    ):
        if global_batch_size % (dp_size * grad_accum_steps):
            raise ValueError(
                f"global_batch_size {global_batch_size} is not divisible by dp ({dp_size}) x "
                f"grad_accum_steps ({grad_accum_steps})"
            )
        self.seq_len = seq_len
        self.global_batch_size = global_batch_size
        self.dp_rank, self.dp_size, self.accum = dp_rank, dp_size, grad_accum_steps
        self.streams: dict[str, PackedStream | TokenStream] = {}
        section = token_section(manifest, source)
        self.source = "tokens" if section is not None else "text"
        for ph in phases:
            if section is not None:
                if (section.get(ph) or {}).get("index"):
                    self.streams[ph] = TokenStream(RunLayout(manifest.root), section, ph)
                continue
            files = manifest.files(ph)
            if files:
                self.streams[ph] = PackedStream(DocReader(files, manifest.text_column), tokenizer, seq_len)

    def has_phase(self, phase: str) -> bool:
        return phase in self.streams

    def next_batches(
        self, phase: str = "mix", global_batch_size: int | None = None, seq_len: int | None = None
    ) -> list[Batch]:
        """The ``grad_accum_steps`` micro-batches of this rank for the next optimizer step.

        ``global_batch_size`` and ``seq_len`` override the loader's own for this step (ramps)."""
        if phase not in self.streams:
            raise ValueError(f"the manifest has no {self.source} for phase {phase!r}")
        gbs = global_batch_size or self.global_batch_size
        slen = seq_len or self.seq_len
        if gbs % (self.dp_size * self.accum):
            raise ValueError(
                f"global batch size {gbs} is not divisible by dp ({self.dp_size}) x "
                f"grad_accum_steps ({self.accum})"
            )
        stream = self.streams[phase]
        local = gbs // self.dp_size
        lo, hi = self.dp_rank * local, (self.dp_rank + 1) * local
        if isinstance(stream, TokenStream):  # seek to this rank's windows; all ranks advance pos alike
            need = slen + 1
            t, d = stream.read(stream.pos + lo * need, local * need)
            seqs_np, docs_np = t.reshape(local, need), d.reshape(local, need)
            docs_np = docs_np - docs_np[:, :1]
            stream.pos += gbs * need
            stream.sequences += gbs
        else:
            seqs, docs = [], []
            for i in range(gbs):
                t, d = stream.next(slen)  # every rank advances the global stream
                if lo <= i < hi:
                    seqs.append(t)
                    docs.append(d)
            seqs_np, docs_np = np.stack(seqs), np.stack(docs)
        seqs_t = torch.from_numpy(seqs_np)
        docs_t = torch.from_numpy(docs_np)
        mb = local // self.accum
        out = []
        for m in range(self.accum):
            s = slice(m * mb, (m + 1) * mb)
            out.append(Batch(seqs_t[s, :-1].contiguous(), seqs_t[s, 1:].contiguous(), docs_t[s, :-1].contiguous()))
        return out

    def state_dict(self) -> dict:
        return {ph: s.state_dict() for ph, s in self.streams.items()}

    def load_state_dict(self, state: dict) -> None:
        for ph, s in state.items():
            if ph in self.streams:
                self.streams[ph].load_state_dict(s)
