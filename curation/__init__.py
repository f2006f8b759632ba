"""curation: distributed data curation for LLM pre-training on Ray (Llama 3 web-data recipe)."""

__version__ = "0.1.0"
