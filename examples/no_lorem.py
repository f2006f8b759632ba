"""A user filter outside the package: drop placeholder text. Used by examples/pipeline.yaml
(`op: no_lorem:NoLorem`) and examples/run_pipeline.py; docs/operators.md explains it."""

import pyarrow.compute as pc

from curation.operators import Filter, Params, reasons_where


class NoLoremParams(Params):
    #: the placeholder phrase, matched case-insensitively
    phrase: str = "lorem ipsum"


class NoLorem(Filter):
    name = "no_lorem"
    Params = NoLoremParams

    def decide(self, table):
        text = pc.utf8_lower(table.column("text"))
        return reasons_where(pc.match_substring(text, self.params.phrase.lower()), "lorem_ipsum")
