"""Input readers, shard planning and atomic Parquet output."""
