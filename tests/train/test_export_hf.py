"""`curate export-hf`: a checkpoint as a Hugging Face Llama folder that transformers loads, with the
same logits as the project's model (q/k rows permuted from interleaved to half RoPE)."""

from __future__ import annotations

import json

import pytest
import torch


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A seeded tiny model saved the way the trainer saves one (DCP + meta.json), and a tokenizer."""
    import torch.distributed.checkpoint as dcp

    from curation.train.model import Transformer, model_args
    from curation.tokenizer import train_bpe

    base = tmp_path_factory.mktemp("hf")
    tok = train_bpe([f"the {i} cats sat on {i * 7} mats, and code x = {i}" for i in range(300)], 300,
                    base / "tokenizer.json")
    torch.manual_seed(0)
    model = Transformer(model_args("tiny", tok.vocab_size, 64), "sdpa", doc_masking=False)
    model.init_weights()
    ck = base / "checkpoints" / "step-00000005"
    dcp.save({"model": {k: v.detach().clone() for k, v in model.state_dict().items()}}, checkpoint_id=str(ck),
             no_dist=True)
    (ck / "meta.json").write_text(json.dumps({"step": 5, "config": {"flavour": "tiny", "seq_len": 64}}))
    return base, model, tok


def _logits_match(model, hf_dir, vocab: int) -> float:
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(str(hf_dir), dtype=torch.float32).eval()
    x = torch.randint(0, vocab, (3, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return float((hf(input_ids=x).logits - model.eval()(x)).abs().max())


def test_export_loads_in_transformers_with_our_logits(checkpoint, tmp_path):
    from transformers import AutoTokenizer

    from curation.cli import main

    base, model, tok = checkpoint
    out = tmp_path / "hf"
    assert main(["export-hf", str(base), "--out", str(out)]) == 0  # the training folder: its newest checkpoint
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"] and cfg["num_key_value_heads"] == 2
    assert (out / "model.safetensors").is_file()
    assert _logits_match(model, out, tok.vocab_size) < 1e-4
    hf_tok = AutoTokenizer.from_pretrained(str(out))
    text = "the 3 cats sat"
    assert hf_tok(text, add_special_tokens=False)["input_ids"] == tok.backend.encode(text).ids
    assert hf_tok.eos_token_id == tok.eos_id


def test_export_of_an_averaged_checkpoint(checkpoint, tmp_path):
    from curation.train.checkpoint import average_checkpoints
    from curation.train.export_hf import export

    base, model, tok = checkpoint
    avg = average_checkpoints([base / "checkpoints" / "step-00000005"], tmp_path / "averaged")
    info = export(avg, tmp_path / "hf", tokenizer=str(base / "tokenizer.json"))
    assert info["step"] == 5
    assert _logits_match(model, tmp_path / "hf", tok.vocab_size) < 1e-4


def test_not_a_checkpoint_is_one_line(tmp_path, capsys):
    from curation.cli import main

    assert main(["export-hf", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
