"""Token shards: the trainer's feed, written by the ``tokenize`` stage (docs/tokens.md).

One module per concept:

* :mod:`.layout`   - where the token files and index parts of a run live (``TokenLayout``);
* :mod:`.format`   - the flat little-endian token file: dtype choice, positioned writes, memory-mapped reads;
* :mod:`.order`    - the seeded global training order (one 64-bit key per document occurrence);
* :mod:`.index`    - the index: one row per occurrence in training order, and its reader;
* :mod:`.manifest` - the ``tokens`` section of ``manifest.json``.
"""
