"""Percentiles within groups (curation/ranks.py): the ranking the selection test's ``*_lang`` scores use."""

from __future__ import annotations

import numpy as np
import pytest

from curation.ranks import percentile_within


def test_weighted_midpoints_within_each_group():
    # group a: scores 1, 2, 5 with weights 1, 1, 2 (total 4): midpoints 0.5, 1.5, 3 -> 1/8, 3/8, 3/4;
    # group b has one row: the middle; the NaN row keeps NaN and is not counted in a
    got = percentile_within(np.array([5.0, 1.0, 3.0, np.nan, 2.0]), ["a", "a", "b", "a", "a"],
                            np.array([2.0, 1.0, 7.0, 1.0, 1.0]))
    np.testing.assert_allclose(got[[0, 1, 2, 4]], [0.75, 0.125, 0.5, 0.375])
    assert np.isnan(got[3])


def test_a_group_cannot_lift_its_rows_above_another():
    # group x scores far above group y; within groups the order is kept, across groups it is not
    s = np.array([100.0, 101.0, 102.0, 1.0, 2.0, 3.0])
    g = ["x"] * 3 + ["y"] * 3
    got = percentile_within(s, g)
    np.testing.assert_allclose(got[:3], got[3:])
    assert list(np.argsort(got[:3])) == [0, 1, 2]


def test_unweighted_and_ties_by_row():
    got = percentile_within(np.array([0.0, 0.0, 1.0, 1.0]), ["g"] * 4)
    np.testing.assert_allclose(got, [1 / 8, 3 / 8, 5 / 8, 7 / 8])


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="differ in length"):
        percentile_within(np.zeros(3), ["a", "b"])
