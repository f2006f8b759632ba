"""curate export-hf RUN_OR_CHECKPOINT --out DIR [--tokenizer PATH]"""

from __future__ import annotations

import json


def register(sub) -> None:
    e = sub.add_parser("export-hf", help="write a trained model as a Hugging Face Llama folder (safetensors)",
                       description="Write config.json (LlamaForCausalLM), model.safetensors and the tokenizer "
                                   "to --out, for transformers, vLLM and lm-eval-harness. RUN_OR_CHECKPOINT: a "
                                   "training OUT folder (its newest checkpoint), a step-* checkpoint, or a "
                                   "curate average-checkpoints output.")
    e.add_argument("source", metavar="RUN_OR_CHECKPOINT", help="training OUT folder or checkpoint folder")
    e.add_argument("--out", required=True, help="folder to write (created)")
    e.add_argument("--tokenizer", default=None,
                   help="tokenizer.json or Hugging Face folder (default: the training folder's tokenizer.json)")
    e.set_defaults(func=main)


def main(args) -> int:
    from curation.cli import UserError
    from curation.train.export_hf import ExportError, export

    try:
        info = export(args.source, args.out, args.tokenizer)
    except ExportError as e:
        raise UserError(str(e)) from None
    print(json.dumps(info, indent=1))
    return 0
