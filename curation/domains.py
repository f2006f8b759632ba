"""The domain labels of a document (the ``domain`` column), one list for the whole package.

The four are the Llama 3 report's data-mix categories (Section 3.1.2: general knowledge, math and
reasoning, code, multilingual), the labels of the domain model (curation.classifiers.domain), plus
``undetermined``: prose whose language the language stage could not identify (``lang`` = ``und``),
which is not counted as multilingual (docs/quality.md).
"""

from __future__ import annotations

UNDETERMINED = "undetermined"
DOMAINS = ("general", "math", "code", "multilingual", UNDETERMINED)
