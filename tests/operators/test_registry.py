"""The built-in registry is found from the package's files: a new built-in is one file."""

from __future__ import annotations

from curation.operators import REGISTRY, _built_ins, operator_class


def test_every_built_in_is_found_with_its_class():
    assert set(REGISTRY) == {"extract", "url_filter", "url_dedup", "minhash_dedup", "language", "domain",
                             "line_dedup", "pii", "heuristics", "fluency", "kl_filter", "decontaminate",
                             "quality", "quality_select", "token_prior", "quality_rank", "mix", "tokenize"}
    for name in REGISTRY:
        assert operator_class(name).name == name


def test_a_new_module_with_a_named_operator_is_registered_and_helpers_are_not(tmp_path):
    (tmp_path / "no_lorem.py").write_text(
        "from curation.operators import Filter\n\n"
        "class NoLorem(Filter):\n    name = \"no_lorem\"\n\n    def decide(self, table):\n"
        "        return [None] * table.num_rows\n")
    (tmp_path / "helpers.py").write_text("class Thing:\n    name = 'something_else'\n")
    (tmp_path / "misnamed.py").write_text("class Other:\n    name = 'not_misnamed'\n")
    assert _built_ins(str(tmp_path), "pkg") == {"no_lorem": "pkg.no_lorem:NoLorem"}
