"""Evaluation metrics shared by tests and bench scripts."""
