"""Packing and the document-causal mask."""

from __future__ import annotations

import json

import pytest
import torch

from curation.train.data import Manifest, TrainLoader
from curation.train.model import Transformer, model_args
from curation.tokenizer import load_tokenizer


def _model(doc_masking=True, vocab=1024, seq_len=64):
    torch.manual_seed(0)
    m = Transformer(model_args("tiny", vocab, seq_len), "sdpa", doc_masking)
    m.init_weights()
    return m.eval()


def test_packing_keeps_document_boundaries(manifest_path, tokenizer_path):
    tok = load_tokenizer(tokenizer_path)
    loader = TrainLoader(Manifest(manifest_path), tok, seq_len=64, global_batch_size=4)
    batches = loader.next_batches()
    assert len(batches) == 1
    b = batches[0]
    assert b.inputs.shape == b.labels.shape == b.doc_ids.shape == (4, 64)
    assert torch.equal(b.inputs[:, 1:], b.labels[:, :-1])  # labels are inputs shifted by one
    for row, docs in zip(b.inputs, b.doc_ids):
        # a new document id starts exactly at a BOS token, and ids count up from 0
        starts = (docs[1:] != docs[:-1]).nonzero().flatten() + 1
        assert all(row[i].item() == tok.bos_id for i in starts)
        assert docs[0].item() == 0 and torch.all(docs[1:] - docs[:-1] >= 0)
    # the first sequence is the first document's first 65 tokens
    first = Manifest(manifest_path).iter_texts("mix").__next__()
    assert b.inputs[0].tolist() == tok.encode_batch([first])[0][:64]


def test_loader_state_round_trip(manifest_path, tokenizer_path):
    tok = load_tokenizer(tokenizer_path)
    a = TrainLoader(Manifest(manifest_path), tok, seq_len=128, global_batch_size=8)
    for _ in range(1000):  # until the reader has crossed row groups and files and wrapped an epoch
        a.next_batches()
        if a.streams["mix"].reader.epoch >= 1 and a.streams["mix"].reader.row > 20:
            break
    state = json.loads(json.dumps(a.state_dict()))
    b = TrainLoader(Manifest(manifest_path), tok, seq_len=128, global_batch_size=8)
    b.load_state_dict(state)
    for _ in range(3):
        x, y = a.next_batches()[0], b.next_batches()[0]
        assert torch.equal(x.inputs, y.inputs) and torch.equal(x.doc_ids, y.doc_ids)
    assert a.streams["mix"].reader.epoch == 1


def _logits(model, tokens, docs):
    with torch.no_grad():
        return model(tokens[None], docs[None])[0]


@pytest.mark.parametrize("changed", [0, 1])
def test_document_mask_isolates_documents(changed):
    """Three documents packed in one sequence; changing document ``changed`` (same length)
    changes its own logits and, with the mask, no other document's."""
    g = torch.Generator().manual_seed(1)
    lens = [20, 17, 27]
    docs = torch.cat([torch.full((n,), i) for i, n in enumerate(lens)])
    tokens = torch.randint(0, 1024, (sum(lens),), generator=g)
    edited = tokens.clone()
    lo, hi = sum(lens[:changed]), sum(lens[: changed + 1])
    edited[lo:hi] = torch.randint(0, 1024, (hi - lo,), generator=g)

    masked = _model(doc_masking=True)
    a, b = _logits(masked, tokens, docs), _logits(masked, edited, docs)
    other = docs != changed
    assert not torch.allclose(a[lo:hi], b[lo:hi])  # the edit itself is visible
    torch.testing.assert_close(a[other], b[other], rtol=0, atol=1e-6)

    # control: without the mask the later documents do see the edit
    plain = _model(doc_masking=False)
    a, b = _logits(plain, tokens, docs), _logits(plain, edited, docs)
    later = docs > changed
    assert (a[later] - b[later]).abs().max() > 1e-3


def test_mask_matches_separate_forward():
    """The second document's logits equal those of a forward over it alone, up to RoPE's relative
    positions: queries and keys are both shifted, so attention is the same."""
    g = torch.Generator().manual_seed(2)
    tokens = torch.randint(0, 1024, (48,), generator=g)
    docs = torch.cat([torch.zeros(16, dtype=torch.long), torch.ones(32, dtype=torch.long)])
    m = _model()
    packed = _logits(m, tokens, docs)[16:]
    alone = _logits(m, tokens[16:], torch.zeros(32, dtype=torch.long))
    torch.testing.assert_close(packed, alone, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(
    not (torch.cuda.is_available() or __import__("os").environ.get("CURATION_TEST_SLOW")),
    reason="FlexAttention compiles for ~1 min on CPU (forward only there); runs on GPU or with CURATION_TEST_SLOW=1",
)
def test_flex_attention_matches_sdpa():
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    a = model_args("tiny", 1024, 128)
    torch.manual_seed(0)
    ref = Transformer(a, "sdpa").to(dev)
    ref.init_weights()
    flex = Transformer(a, "flex").to(dev)
    flex.load_state_dict(ref.state_dict())
    x = torch.randint(0, 1024, (2, 128), device=dev)
    docs = torch.cat([torch.zeros(2, 50, dtype=torch.long), torch.ones(2, 30, dtype=torch.long), torch.full((2, 48), 2)], 1).to(dev)
    with torch.no_grad():
        torch.testing.assert_close(flex(x, docs), ref(x, docs), rtol=1e-4, atol=1e-4)


def test_local_hugging_face_tokenizer_folder(tokenizer_path, tmp_path):
    """A local Hugging Face tokenizer folder loads (no downloads) and wraps documents in BOS/EOS."""
    from tokenizers import Tokenizer as HFTok
    from transformers import PreTrainedTokenizerFast

    hf = PreTrainedTokenizerFast(
        tokenizer_object=HFTok.from_file(str(tokenizer_path)), bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>"
    )
    hf.save_pretrained(tmp_path / "tok")
    tok = load_tokenizer(tmp_path / "tok")
    ref = load_tokenizer(tokenizer_path)
    text = "def add(a, b):\n    return a + b\n"
    assert tok.encode_batch([text]) == ref.encode_batch([text])
    ids = tok.encode_batch([text])[0]
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id and tok.decode(ids[1:-1]) == text
    with pytest.raises(FileNotFoundError):
        load_tokenizer(tmp_path / "missing")


def test_bad_manifests_get_clear_errors(manifest_path, tmp_path):
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps({"format": "something/2"}))
    with pytest.raises(ValueError, match="unknown manifest format"):
        Manifest(bad)
    m = json.loads(manifest_path.read_text())
    m["mix"]["files"] = ["mix/part-99999.parquet"]
    bad.write_text(json.dumps(m))
    with pytest.raises(FileNotFoundError, match="part-99999"):
        Manifest(bad).files("mix")
    (tmp_path / "mix").mkdir()
    (tmp_path / "mix" / "part-99999.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="part-99999"):
        TrainLoader(Manifest(bad), None, 16, 1, phases=("mix",)).next_batches()
