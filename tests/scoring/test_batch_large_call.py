"""The large-call path (one call over a whole portal) equals the per-contact engine too.

A column with ``batch.memo.LARGE_COLUMN`` distinct values or more skips the condition memos and is
answered per call, and ``email_domain_in`` groups addresses by tail from
``batch.distinct.GROUP_TAILS_FROM`` values on. Random data never gets that big, so the thresholds are
lowered (to 0: every column takes that path; to a middle value: columns of one call take both).
"""

from __future__ import annotations

import random

import pytest

from connector.scoring.batch import distinct, memo
from connector.scoring.batch.distinct import DistinctValues
from tests.scoring.test_batch_distinct_values import CONDITIONS, PLACEHOLDERS, _values
from tests.scoring.test_batch_reuse import _check_chunks


@pytest.mark.parametrize("threshold", [0, 5])
@pytest.mark.parametrize("seed", range(4000, 4008))
def test_large_columns_skip_the_memos(seed: int, threshold: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo, "LARGE_COLUMN", threshold)
    monkeypatch.setattr(distinct, "GROUP_TAILS_FROM", threshold)
    _check_chunks(seed)


@pytest.mark.parametrize("cond", [c for c in CONDITIONS if c.op == "email_domain_in"], ids=lambda c: f"{c.op}-{c.value}")
def test_domains_grouped_by_tail_equal_test(cond: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.scoring import conditions

    monkeypatch.setattr(distinct, "GROUP_TAILS_FROM", 0)
    values = _values(random.Random(5), 3000)
    got = DistinctValues(values, PLACEHOLDERS).answers(cond)
    want = [conditions.test(cond, v, PLACEHOLDERS) for v in values]
    assert got.tolist() == want
