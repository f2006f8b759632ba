"""Bits per byte with carried context: every token scored once, windows overlap by L - stride."""

from __future__ import annotations

import math

import numpy as np

from curation.train.bpb import windows_for


def test_windows_score_every_position_once_with_context():
    for n in (2, 5, 64, 65, 66, 200, 1001):
        for L, stride in ((64, 32), (64, 64), (16, 5)):
            seen = np.zeros(n, int)
            for begin, stop, first in windows_for(n, L, stride):
                assert stop - begin <= L + 1 and first > begin
                seen[first:stop] += 1
                if begin > 0:  # a later window keeps at least L - stride tokens of context
                    assert first - begin >= L - stride + 1 or stop == n
            assert seen[0] == 0 and (seen[1:] == 1).all()


def test_score_is_bits_per_byte(eval_run):
    import torch

    from curation.train.bpb import score
    from curation.train.in_memory import new_model
    from curation.train.config import TrainConfig
    from curation.tokenizer import train_bpe

    texts = ["Some held-out text. " * 40, "Ünïcödé bytes count as bytes: ü, 中文."]
    tok = train_bpe(texts * 3, 300)
    model = new_model(TrainConfig(flavour="tiny", seq_len=32, device="cpu"), tok.vocab_size, 0)
    r = score(model, tok, texts, 32, 16)
    assert r["bytes"] == sum(len(t.encode()) for t in texts)
    assert math.isclose(r["bpb"], r["nats"] / math.log(2) / r["bytes"])
    # an untrained model is near uniform over the vocabulary: about log2(V) bits per token
    per_token = r["nats"] / r["tokens"] / math.log(2)
    assert abs(per_token - math.log2(model.args.vocab_size)) < 1.5
    assert torch.isfinite(torch.tensor(r["bpb"]))
