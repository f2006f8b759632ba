"""The run folder: every path and file format of a run, on any ``pyarrow.fs`` filesystem.

* :mod:`~curation.run.layout` - where each file lives (``RunLayout``); no other module builds a run path;
* :mod:`~curation.run.commit` - the atomic commit of a file and of a shard; readers skip temporaries;
* :mod:`~curation.run.record` - ``run.json`` (write, check for resume, read);
* :mod:`~curation.run.progress` - ``progress.json`` (update, read);
* :mod:`~curation.run.manifest` - ``manifest.json`` (write, update a section, read; versioned);
* :mod:`~curation.run.tokens` - the token shards' paths and commits (the ``tokenize`` stage, the trainer);
* :mod:`~curation.run.lock` - ``run.lock``, one driver per folder, stale locks recovered;
* :mod:`~curation.run.views` - the DuckDB views used by ``status``, ``query`` and ``report``.
"""

from curation.run.layout import RunLayout

__all__ = ["RunLayout"]
