"""Domain classifier (fastText): general, math, code, multilingual; and fine topics of general text.

Two fastText models in one folder:

* ``domain.bin`` - general / math / code / multilingual. Trained on the bundled labelled samples
  (GSM8K for math; HumanEval and Python standard-library functions for code; UDHR translations and
  non-English web text for multilingual; WikiText, English news bodies and English web text for
  general). Character n-grams (minn/maxn) so that scripts without spaces are recognised.
* ``topic.bin`` - fine topics of general text the mix can down-sample (Llama 3 down-sampled
  over-represented categories such as arts & entertainment): arts_entertainment, sports,
  science_tech, history_politics, other. Labels are hand-assigned per WikiText article and derived
  from URL words for news (weak labels; see classifiers/domain.md).

When a language column is present (from the ``language`` stage), code and math stay code and math
in any language; other non-English text is ``multilingual``, English text is never
``multilingual``, and text with no identified language (``und``) is ``undetermined``.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from curation.classifiers import fasttext_util
from curation.classifiers.common import AtomicDir, bundled, ft_line, read_jsonl, without_eval, write_json
from curation.domains import DOMAINS, UNDETERMINED

MODEL_DIR = "domain_fasttext"
DOMAIN_FILE = "domain.bin"
TOPIC_FILE = "topic.bin"
TOPICS = ("arts_entertainment", "sports", "science_tech", "history_politics", "other")


class DomainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # fastText tutorial ranges (see quality_fasttext); char n-grams 2-4 as in fastText's language-ID
    # recipe (minn 2, maxn 4), which generalise across scripts; small dim/bucket keep it ~13 MB.
    lr: float = 0.5
    epoch: int = 20
    wordNgrams: int = 1
    minn: int = 2
    maxn: int = 4
    dim: int = 32
    bucket: int = 100_000
    minCount: int = 1
    seed: int = 0
    max_chars: int = 2000


def _lang_is_english(lang: str | None) -> bool | None:
    """True/False for a language code like 'en', 'eng_Latn', '__label__en', 'en-US'; None if unknown."""
    if not lang:
        return None
    code = lang.removeprefix("__label__").strip().lower().replace("-", "_").split("_")[0]
    if code in ("", "und", "unknown", "zxx"):
        return None
    return code in ("en", "eng")


def train(out_dir: Path, cfg: DomainConfig | None = None, data: str | None = None) -> dict:
    cfg = cfg or DomainConfig()
    rows = read_jsonl(data) if data else without_eval(read_jsonl(bundled("domain.jsonl.gz")))
    tr = [r for r in rows if r.get("split", "train") == "train"]
    te = [r for r in rows if r.get("split") == "test"]
    params = cfg.model_dump(exclude={"max_chars"})
    final = Path(out_dir) / MODEL_DIR
    t0 = time.perf_counter()
    with AtomicDir(final) as tmp:
        dmodel = fasttext_util.train_supervised([ft_line(r["text"], cfg.max_chars) for r in tr],
                                                [r["domain"] for r in tr], tmp / DOMAIN_FILE, **params)
        gen_tr = [r for r in tr if r["domain"] == "general" and r.get("topic")]
        tmodel = fasttext_util.train_supervised([ft_line(r["text"], cfg.max_chars) for r in gen_tr],
                                                [r["topic"] for r in gen_tr], tmp / TOPIC_FILE,
                                                **{**params, "minn": 0, "maxn": 0, "wordNgrams": 2})
        seconds = time.perf_counter() - t0
        pred, _ = fasttext_util.predict_top(dmodel, [r["text"] for r in te], cfg.max_chars)
        per_source: dict[str, list[int]] = {}
        for r, p in zip(te, pred):
            key = f"{r['domain']} ({r['source']})"
            per_source.setdefault(key, [0, 0])
            per_source[key][0] += int(p == r["domain"])
            per_source[key][1] += 1
        gen_te = [r for r in te if r["domain"] == "general" and r.get("topic")]
        tpred, _ = fasttext_util.predict_top(tmodel, [r["text"] for r in gen_te], cfg.max_chars)
        confusion = Counter((r["domain"], p) for r, p in zip(te, pred))
        card = {
            "model": "fasttext domain (general/math/code/multilingual) + topic of general text",
            "data": data or "bundled curation/data/classifiers/domain.jsonl.gz",
            "train": dict(Counter(r["domain"] for r in tr)),
            "train_topics": dict(Counter(r["topic"] for r in gen_tr)),
            "held_out": {
                "domain_accuracy": round(float(np.mean([p == r["domain"] for r, p in zip(te, pred)])), 4) if te else None,
                "n": len(te),
                "accuracy_by_source": {k: {"accuracy": round(c / n, 4), "n": n} for k, (c, n) in sorted(per_source.items())},
                "confusion": {f"{a}->{b}": n for (a, b), n in sorted(confusion.items())},
                "topic_accuracy": round(float(np.mean([p == r["topic"] for r, p in zip(gen_te, tpred)])), 4) if gen_te else None,
                "topic_n": len(gen_te),
            },
            "config": cfg.model_dump(),
            "train_seconds": round(seconds, 2),
        }
        write_json(tmp / "card.json", card)
    return card


class DomainClassifier:
    def __init__(self, path: str | Path, max_chars: int = 2000):
        p = Path(path)
        self.domain_model = fasttext_util.load(p / DOMAIN_FILE)
        topic = p / TOPIC_FILE
        self.topic_model = fasttext_util.load(topic) if topic.is_file() else None
        self.max_chars = max_chars

    def predict(self, texts: list[str], langs: list[str | None] | None = None):
        """(domains, domain_scores, topics, topic_scores); topic is '' outside general.

        With ``langs`` (the language stage's codes): a page the model calls ``code`` or ``math`` stays
        so whatever its language (code and math are judged by their own rules, and code has no
        natural language); other text is ``general`` when English, ``multilingual`` when in another
        identified language, and ``undetermined`` when no language was identified (``und``): such
        text is not counted as multilingual (see docs/quality.md)."""
        n = len(texts)
        domains, scores = fasttext_util.predict_top(self.domain_model, texts, self.max_chars)
        domains = list(domains)
        if langs is not None:
            for i, lang in enumerate(langs):
                if domains[i] in ("code", "math"):
                    continue
                en = _lang_is_english(lang)
                if en is None:
                    domains[i], scores[i] = UNDETERMINED, 1.0
                elif en is False and domains[i] != "multilingual":
                    domains[i], scores[i] = "multilingual", 1.0
                elif en is True and domains[i] == "multilingual":
                    # English text the model took for another language: best non-multilingual label
                    labels, probs = self.domain_model.predict(ft_line(texts[i], self.max_chars), k=-1)
                    for lab, p in zip(labels, probs):
                        name = lab.removeprefix("__label__")
                        if name != "multilingual":
                            domains[i], scores[i] = name, min(1.0, float(p))
                            break
        for d in domains:
            if d not in DOMAINS:
                raise ValueError(f"domain model produced unknown label {d!r}; expected one of {DOMAINS}")
        topics = [""] * n
        tscores = np.zeros(n, np.float32)
        gen = [i for i, d in enumerate(domains) if d == "general"]
        if self.topic_model is not None and gen:
            names, ts = fasttext_util.predict_top(self.topic_model, [texts[i] for i in gen], self.max_chars)
            for j, i in enumerate(gen):
                topics[i], tscores[i] = names[j], ts[j]
        return domains, np.asarray(scores, np.float32), topics, tscores
