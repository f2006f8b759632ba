"""What a global operator knows of the shard it works on: a :class:`ShardContext`, made by the
engine for one shard's phase (its ``collect`` calls, or its ``apply`` calls and ``shard_outputs``)
and dropped afterwards. Per-shard state lives here, never in attributes that survive between
calls: an operator object is reused for every shard a worker runs (docs/operators.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ShardContext:
    #: the shard's index in the run (0-based, in input order): names per-shard files
    index: int = 0
    #: the shard's name (``part-00003``)
    name: str = ""
    #: input documents of the stage in the shards before this one, and in all shards; set only for
    #: an operator with ``wants_positions`` (the engine then reads the counts from Parquet footers),
    #: else None. Both are deterministic: they never depend on the number of workers.
    docs_before: int | None = None
    docs_total: int | None = None
    #: documents of this shard handed to this phase before the current batch (the engine advances it
    #: after every call), so ``docs_before + batch_offset + i`` is row i's ordinal in the corpus
    batch_offset: int = 0
    #: the run folder (:class:`curation.run.layout.RunLayout`) the shard's outputs are written to;
    #: None outside a run
    run: Any = None
    #: the operator's own scratch for this shard (tokenize: the token bytes it holds until
    #: ``shard_outputs``); fresh for every shard and phase
    state: dict = field(default_factory=dict)

    def advance(self, n: int) -> None:
        """Called by the engine after each batch of ``n`` documents."""
        self.batch_offset += n
