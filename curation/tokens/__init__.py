"""Token shards: the trainer's feed, written by the ``tokenize`` stage (docs/tokens.md).

One module per concept:

* :mod:`.format`   - the flat little-endian token file: dtype choice, bytes, reads (memory map, or ranged reads on object stores);
* :mod:`.order`    - the seeded global training order (one 64-bit key per document occurrence);
* :mod:`.index`    - the index: one row per occurrence in training order, and its reader;
* :mod:`.manifest` - the ``tokens`` section of ``manifest.json``;
* :mod:`.local`    - the stage's phases in one process (tests, benchmarks).

Where the files live, and how they are committed, is the run package's:
:mod:`curation.run.tokens` (``TokenLayout``).
"""
