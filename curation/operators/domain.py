"""domain: domain and fine-topic labels (Llama 3, Section 3.1.1 / 3.4), map stage with a model.

Columns: ``domain`` (general, math, code, multilingual), ``domain_score`` (float32, the fastText
probability of that label, 1.0 when the language column decided), ``topic`` (a fine topic of
general text, e.g. arts_entertainment, that ``mix`` can down-sample; empty for other domains) and
``topic_score`` (float32). With a language column (``lang``, from the language stage), non-English
text is ``multilingual`` and English text is never ``multilingual``; without one the model decides.
Nothing is rejected.
"""

from __future__ import annotations

import pyarrow as pa

from curation import schema
from curation.operators.annotator import Annotator
from curation.operators.base import Params


class DomainParams(Params):
    #: models folder (default: $CURATION_MODELS or models/ at the repository root)
    models: str | None = None
    #: the language column written by the language stage; used when present
    lang_column: str = "lang"
    #: train the model on first use when missing (off: a missing model is an error)
    auto_train: bool = True


class Domain(Annotator):
    name = "domain"
    Params = DomainParams
    uses_model = True  # fastText on CPU: num_gpus stays 0, so it never moves a fused group to GPU actors
    provides = ("domain", "domain_score", "topic", "topic_score")

    def setup(self) -> None:
        from curation.classifiers import models_dir as md
        from curation.classifiers.domain import DomainClassifier

        p: DomainParams = self.params
        root = md.resolve(p.models)
        if p.auto_train:
            md.ensure(root, ("domain",))
        if not md.present(root)["domain"]:
            raise FileNotFoundError(f"domain: model missing in {root} (run: curate train-classifiers --models {root})")
        self.clf = DomainClassifier(root / md.DOMAIN)

    def annotate(self, table: pa.Table) -> dict[str, pa.Array]:
        texts = [t or "" for t in table.column(schema.TEXT).to_pylist()]
        col = self.params.lang_column
        langs = table.column(col).cast(pa.string()).to_pylist() if col in table.column_names else None
        domains, dscores, topics, tscores = self.clf.predict(texts, langs)
        return {"domain": pa.array(domains, pa.string()), "domain_score": pa.array(dscores, pa.float32()),
                "topic": pa.array(topics, pa.string()), "topic_score": pa.array(tscores, pa.float32())}
