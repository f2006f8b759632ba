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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

PHASES = ("mix", "anneal")


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
        self.reader.load_state_dict(s["reader"])
        self.buf_tokens = np.asarray(s["buf_tokens"], dtype=np.int64)
        self.buf_docs = np.asarray(s["buf_docs"], dtype=np.int64)
        self.doc_counter = int(s["doc_counter"])
        self.sequences = int(s["sequences"])


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
    ):
        if global_batch_size % (dp_size * grad_accum_steps):
            raise ValueError(
                f"global_batch_size {global_batch_size} is not divisible by dp ({dp_size}) x "
                f"grad_accum_steps ({grad_accum_steps})"
            )
        self.seq_len = seq_len
        self.global_batch_size = global_batch_size
        self.dp_rank, self.dp_size, self.accum = dp_rank, dp_size, grad_accum_steps
        self.streams: dict[str, PackedStream] = {}
        for ph in phases:
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
            raise ValueError(f"the manifest has no files for phase {phase!r}")
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
        seqs, docs = [], []
        for i in range(gbs):
            t, d = stream.next(slen)  # every rank advances the global stream
            if lo <= i < hi:
                seqs.append(t)
                docs.append(d)
        seqs_t = torch.from_numpy(np.stack(seqs))
        docs_t = torch.from_numpy(np.stack(docs))
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
