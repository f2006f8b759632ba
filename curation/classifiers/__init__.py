"""Model-based quality and domain classifiers (Llama 3, Section 3.1.1 "model-based quality filtering").

Three models, all trained by this package from bundled data (no downloads), with the same code a
user runs on their own data (``curate train-classifiers``):

* :mod:`.quality_fasttext` - fastText, "is this text like what Wikipedia references?"
* :mod:`.roberta` - a RobertaForSequenceClassification regressor (DistilRoBERTa architecture, or a
  tiny configuration trained offline) distilled from a pluggable teacher's scores.
* :mod:`.domain` - fastText domain (general, math, code, multilingual) and fine-topic models.

:mod:`.models_dir` says where models live and trains missing ones on first use.
"""
