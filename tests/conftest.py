"""Shared fixtures: the bundled sample, and one real local Ray for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample"
SHARED = ROOT.parent / "shared" / "data"  # present on developer machines, absent in CI


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not present (fresh clone)")
    return SHARED


@pytest.fixture(scope="session")
def ray_local():
    """A real in-process Ray with 2 CPUs, shared by every engine test, shut down at the end."""
    import ray

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
