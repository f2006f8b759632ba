"""The engine: plans fused groups of operators and runs them over shards on Ray.

Only :mod:`curation.engine.runner` imports Ray; everything else here is plain Python so it can be
tested and reasoned about without a cluster.
"""
