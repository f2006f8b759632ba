"""Text and URL normalization shared by operators."""
