"""Stop-word lists for the Gopher "has stop words" rule.

Gopher (Rae et al. 2021, Appendix A.1) keeps a document only when it contains at least two of
eight English function words. The rule is only meaningful per language, so the heuristics stage
applies it to documents whose ``lang`` has a list here (and to every document when no language
column exists, as datatrove does). Lists for other languages are the same eight functions (article,
"be", "to", "of", "and", "that", "have", "with") translated; extend ``STOP_WORDS`` for more.
"""

from __future__ import annotations

#: Gopher's list (Rae et al. 2021, A.1; datatrove ``STOP_WORDS``).
GOPHER_EN = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})

STOP_WORDS: dict[str, frozenset[str]] = {
    "en": GOPHER_EN,
    "de": frozenset({"der", "die", "das", "sein", "zu", "von", "und", "dass", "haben", "mit", "ist"}),
    "fr": frozenset({"le", "la", "les", "être", "à", "de", "et", "que", "avoir", "avec", "est"}),
    "es": frozenset({"el", "la", "los", "ser", "a", "de", "y", "que", "tener", "con", "es"}),
    "it": frozenset({"il", "la", "essere", "a", "di", "e", "che", "avere", "con", "è"}),
    "pt": frozenset({"o", "a", "os", "ser", "para", "de", "e", "que", "ter", "com", "é"}),
    "nl": frozenset({"de", "het", "zijn", "te", "van", "en", "dat", "hebben", "met", "is"}),
}
