"""tokenize: the mix and the annealing set as token shards in a seeded global order (global stage).

Reads the ``mix`` stage's kept documents (``id``, ``text``, ``domain``, ``tokens``, ``mix_copies``,
``anneal``) and writes, with the trainer's tokenizer, ``tokens/mix/`` and ``tokens/anneal/``
(paths and commits: :mod:`curation.run.tokens`, format: :mod:`curation.tokens.format`, docs/tokens.md),
on any filesystem the run folder is on (local disk, S3, GCS).

Phases (no phase holds the corpus):

* collect, per shard (no tokenizer call: lengths are the mix's ``tokens`` column, counted with the
  same tokenizer): where every stored document will sit in its shard's token file (a running
  offset, in shard order, kept in the shard context), and one row per occurrence - ``mix_copies`` rows for the mix, one for
  the annealing set - keyed by a seeded hash of (id, copy) (:mod:`curation.tokens.order`); plus,
  per batch and file, one row of stored tokens keyed by the file (``copy`` = -1).
* combine, per key partition: sorts the partition's occurrences by key and writes them as one index
  part; returns a few summary rows (documents and tokens per part and domain; stored tokens of the
  files whose key falls here), broadcast.
* apply, per shard and batch: tokenizes the shard's stored documents once and checks each length
  against the ``tokens`` column (a different tokenizer is an error, not a silent misalignment); the
  tokens of the shard are held (one shard, bounded by ``shard_max_bytes``) in the order that gives
  the offsets collect fixed, in the shard context's ``state`` (never on the operator, which a worker
  reuses for every shard). Every document is kept (with ``keep_text: false`` the stage's Parquet
  output drops the ``text`` column, which stays in the ``mix`` stage's output).
* end of the shard (``shard_outputs``, before the shard's commit): each phase's token file is
  written whole and committed atomically (a retried shard rewrites the same bytes).
* finalize (driver): merges the combine summary rows (the stage's decisions) into the manifest's
  ``tokens`` section, returned as ``{"tokens": section}``; the engine adds it to ``manifest.json``.
"""

from __future__ import annotations


import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation import schema
from curation.hashing import hash64
from curation.operators.base import KEY, GlobalOperator, OpResult, Params
from curation.operators.context import ShardContext
from curation.tokens import format as tfmt
from curation.run.tokens import PHASES, TokenLayout
from curation.tokens.index import sort_part, to_index
from curation.tokens.manifest import FORMAT
from curation.tokens.order import occurrence_keys

#: ``copy`` of a collected row that is not an occurrence but a batch's stored tokens of one file
FILE_ROW = -1
SUMMARY_SCHEMA = pa.schema([
    ("kind", pa.string()),      # "index": an index part's rows per domain; "file": a token file's stored tokens
                                # (summed in the one partition its key falls in: one row per file, not per file x partition)
    ("phase", pa.string()),
    ("name", pa.string()),      # the part's or file's path relative to the run root
    ("domain", pa.string()),
    ("documents", pa.int64()),
    ("tokens", pa.int64()),
])


class TokenizeParams(Params):
    #: the trainer's tokenizer: a tokenizer.json or a local Hugging Face folder. It must be the one
    #: the ``mix`` stage counted ``tokens`` with (checked per document). None: the mix stage's default,
    #: <models>/tokenizer.json
    tokenizer: str | None = None
    #: models folder for the default tokenizer (default: $CURATION_MODELS or models/ at the repo root)
    models: str | None = None
    #: seed of the training order (a different seed, a different permutation)
    seed: int = 0
    text_column: str = schema.TEXT
    #: keep the text column in the stage's Parquet output (``NN-tokenize/``). true (default): the
    #: report's and queries' view of the final documents keeps their text; false: that output holds
    #: no second copy of the final text (it stays in the mix stage's output)
    keep_text: bool = True


class Tokenize(GlobalOperator):
    name = "tokenize"
    writes_outputs = True
    outputs = ("tokens",)  # tokens/<phase>/: token files per shard and the index (curation.run.tokens)
    Params = TokenizeParams

    # -- tokenizer -----------------------------------------------------------------------------
    def tokenizer_path(self) -> str:
        from curation.classifiers import models_dir as md

        return md.tokenizer_path(self.params.tokenizer, self.params.models)

    def setup(self) -> None:
        from curation.tokenizer import load_tokenizer

        self._tok = load_tokenizer(self.tokenizer_path())
        self.dtype = tfmt.dtype_for(self._tok.vocab_size)

    def _layout(self, run=None) -> TokenLayout:
        run = run if run is not None else self.run
        if run is None:
            raise RuntimeError("tokenize writes token files into the run folder: call bind_run(run) first")
        return TokenLayout(run)

    # -- per shard -----------------------------------------------------------------------------
    @staticmethod
    def _shard_state(ctx: ShardContext) -> dict:
        """The shard's running token offsets (``next``) and held token bytes (``held``) per phase."""
        if "next" not in ctx.state:
            ctx.state["next"] = {ph: 0 for ph in PHASES}
            ctx.state["held"] = {ph: [] for ph in PHASES}
        return ctx.state

    def _columns(self, table: pa.Table):
        n, names = table.num_rows, table.column_names
        copies = (table.column("mix_copies").to_numpy(zero_copy_only=False).astype(np.int64)
                  if "mix_copies" in names else np.ones(n, np.int64))
        anneal = (table.column("anneal").to_numpy(zero_copy_only=False).astype(bool)
                  if "anneal" in names else np.zeros(n, bool))
        if "tokens" in names:
            lengths = table.column("tokens").to_numpy(zero_copy_only=False).astype(np.int64)
        else:  # no mix stage before: count here (apply then writes exactly these lengths)
            lengths = np.array([len(x) for x in self._encode(table)], np.int64)
        return {"mix": np.maximum(copies, 0), "anneal": anneal.astype(np.int64)}, lengths

    def _encode(self, table: pa.Table, mask: np.ndarray | None = None) -> list[list[int]]:
        texts = table.column(self.params.text_column).to_pylist()
        if mask is not None:
            texts = [t for t, m in zip(texts, mask) if m]
        return self._tok.encode_batch([t or "" for t in texts])

    def _offsets(self, ctx: ShardContext, phase: str, stored: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Token offset in the shard's file of each stored document (running over the shard)."""
        nxt = self._shard_state(ctx)["next"]
        ln = np.where(stored, lengths, 0)
        off = nxt[phase] + np.cumsum(ln) - ln
        nxt[phase] += int(ln.sum())
        return off

    def collect(self, table: pa.Table, ctx: ShardContext) -> pa.Table:
        layout = self._layout(ctx.run)
        copies, lengths = self._columns(table)
        ids = table.column(schema.ID).to_pylist()
        domain = (table.column("domain").to_pylist() if "domain" in table.column_names else ["general"] * len(ids))
        parts = []
        for ph in PHASES:
            stored = copies[ph] > 0
            off = self._offsets(ctx, ph, stored, lengths)
            rows, copy, keys = occurrence_keys(ids, copies[ph], self.params.seed, ph)
            take = pa.array(rows, pa.int64())
            rel = layout.bin_rel(ph, ctx.index)
            parts.append(pa.table({
                KEY: pa.array(keys, pa.uint64()),
                "phase": pa.array([ph] * len(rows), pa.string()),
                "id": pa.array(ids, pa.string()).take(take),
                "domain": pa.array(domain, pa.string()).take(take),
                "length": pa.array(lengths[rows], pa.int64()),
                "file": pa.array([rel] * len(rows), pa.string()),
                "offset": pa.array(off[rows], pa.int64()),
                "copy": pa.array(copy, pa.int32()),
            }))
            if stored.any():  # the batch's stored tokens, keyed by file: one partition sums each file
                parts.append(pa.table({
                    KEY: pa.array([hash64(rel, "tokens-file")], pa.uint64()), "phase": [ph], "id": pa.array([None], pa.string()),
                    "domain": pa.array([None], pa.string()), "length": pa.array([int(lengths[stored].sum())], pa.int64()),
                    "file": [rel], "offset": pa.array([0], pa.int64()), "copy": pa.array([FILE_ROW], pa.int32()),
                }))
        return pa.concat_tables(parts)

    # -- per key partition ---------------------------------------------------------------------
    def combine(self, rows: pa.Table) -> pa.Table:
        out = []
        if rows.num_rows:
            layout = self._layout()
            files = rows.filter(pc.equal(rows.column("copy"), FILE_ROW))
            by_file = files.group_by(["phase", "file"]).aggregate([("length", "sum")])
            for ph, f, t in zip(by_file.column("phase").to_pylist(), by_file.column("file").to_pylist(),
                                by_file.column("length_sum").to_pylist()):
                out.append(dict(kind="file", phase=ph, name=f, domain="", documents=0, tokens=t))
            rows = rows.filter(pc.not_equal(rows.column("copy"), FILE_ROW))
            for ph in PHASES:
                sub = rows.filter(pc.equal(rows.column("phase"), ph))
                if not sub.num_rows:
                    continue
                rel = layout.write_index_part(ph, to_index(sort_part(sub)))
                by_dom = sub.group_by("domain").aggregate([("length", "sum"), ("length", "count")])
                for d, t, c in zip(by_dom.column("domain").to_pylist(), by_dom.column("length_sum").to_pylist(),
                                   by_dom.column("length_count").to_pylist()):
                    out.append(dict(kind="index", phase=ph, name=rel, domain=d, documents=c, tokens=t))
        return pa.Table.from_pylist(out, schema=SUMMARY_SCHEMA)

    # -- per shard: the tokens -----------------------------------------------------------------
    def apply(self, table: pa.Table, decisions: pa.Table, ctx: ShardContext) -> OpResult:
        held = self._shard_state(ctx)["held"]
        copies, lengths = self._columns(table)
        need = (copies["mix"] > 0) | (copies["anneal"] > 0)
        encoded = self._encode(table, need)
        rows = np.flatnonzero(need)
        got = np.fromiter((len(x) for x in encoded), np.int64, count=len(encoded))
        bad = np.flatnonzero(got != lengths[rows])
        if len(bad):
            i = rows[bad[0]]
            raise ValueError(
                f"tokenize: document {table.column(schema.ID)[int(i)].as_py()} has {got[bad[0]]} tokens with "
                f"{self.tokenizer_path()} but its 'tokens' column says {lengths[i]}: the mix stage counted with "
                "another tokenizer; give both stages the same 'tokenizer'")
        flat = np.fromiter((t for x in encoded for t in x), np.int64, count=int(got.sum()))
        starts = np.concatenate([[0], np.cumsum(got)])
        for ph in PHASES:
            stored = copies[ph] > 0
            self._offsets(ctx, ph, stored, lengths)
            sel = np.flatnonzero(stored[rows])  # positions in `encoded` of this phase's documents
            if len(sel):
                toks = np.concatenate([flat[starts[j]:starts[j + 1]] for j in sel])
                held[ph].append(tfmt.to_bytes(toks, self.dtype))  # held at 2 or 4 bytes a token
        drop = not self.params.keep_text and self.params.text_column in table.column_names
        return self.keep_all(table.drop_columns([self.params.text_column]) if drop else table)

    # -- end of the shard: its token files, whole ---------------------------------------------
    #: the engine need not read the shard's kept file back for ``shard_outputs`` (it ignores it)
    shard_outputs_reads_kept = False

    def shard_outputs(self, kept: pa.Table | None, ctx: ShardContext) -> tuple[dict, dict]:
        """Called by the engine once the shard's batches are applied, before its commit: writes each
        phase's token file of the shard whole (atomic commit, any filesystem). No Parquet outputs;
        the summary names the files and their tokens."""
        layout = self._layout(ctx.run)
        state = self._shard_state(ctx)
        files = {}
        for ph in PHASES:
            held = state["held"][ph]
            if not held:
                continue
            data = b"".join(held)
            n = len(data) // self.dtype.itemsize
            if n != state["next"][ph]:  # the offsets collect fixed are this file's
                raise RuntimeError(f"tokenize: shard {ctx.index} {ph}: {n} tokens held, the offsets say {state['next'][ph]}")
            files[layout.write_file(ph, ctx.index, data)] = n
        return {}, {"files": files}

    # -- driver: the manifest section ----------------------------------------------------------
    def finalize(self, summaries: list[dict], decisions: pa.Table, run_uri: str | None = None) -> dict:
        """``decisions``: every combine's summary rows (broadcast). Returns ``{"tokens": section}``,
        which the engine adds to ``manifest.json`` (:func:`curation.run.manifest.update`)."""
        if decisions.num_rows == 0 or "kind" not in decisions.column_names:
            raise RuntimeError("tokenize: no combine summaries to build the manifest's tokens section from")
        rows = decisions.select(SUMMARY_SCHEMA.names).to_pylist()
        section = {
            "format": FORMAT,
            "dtype": tfmt.dtype_name(self.dtype),
            "vocab_size": int(self._tok.vocab_size),
            "bos_id": self._tok.bos_id,
            "eos_id": self._tok.eos_id,
            "tokenizer": self.tokenizer_path(),
            "seed": self.params.seed,
        }
        for ph in PHASES:
            index: dict[str, list[int]] = {}
            stored: dict[str, int] = {}
            docs: dict[str, int] = {}
            toks: dict[str, int] = {}
            for r in rows:
                if r["phase"] != ph:
                    continue
                if r["kind"] == "index":
                    e = index.setdefault(r["name"], [0, 0])
                    e[0] += r["documents"]
                    e[1] += r["tokens"]
                    docs[r["domain"]] = docs.get(r["domain"], 0) + r["documents"]
                    toks[r["domain"]] = toks.get(r["domain"], 0) + r["tokens"]
                else:
                    stored[r["name"]] = stored.get(r["name"], 0) + r["tokens"]
            section[ph] = {
                "index": [{"path": k, "documents": v[0], "tokens": v[1]} for k, v in sorted(index.items())],
                "files": [{"path": k, "tokens": v} for k, v in sorted(stored.items())],
                "documents": dict(sorted(docs.items())),
                "tokens": dict(sorted(toks.items())),
            }
        written = {f: n for s in summaries for f, n in (s.get("files") or {}).items()}
        listed = {f["path"]: f["tokens"] for ph in PHASES for f in section[ph]["files"]}
        if summaries and written != listed:  # what the workers wrote vs what collect planned
            raise RuntimeError(f"tokenize: the token files written ({len(written)}) differ from the planned ones "
                               f"({len(listed)}): {sorted(set(written.items()) ^ set(listed.items()))[:4]}")
        return {"tokens": section}
