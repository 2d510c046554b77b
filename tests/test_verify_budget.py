"""Memory sizes, options and the fit verdict: pure functions, no worker."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from skillsrv.verify.api import _fit, _largest_batch
from skillsrv.verify.budget import format_bytes, parse_bytes
from skillsrv.verify.models import VerifyOptions

GiB = 2**30


@pytest.mark.parametrize(("text", "expected"), [
    ("24GB", 24 * GiB), ("24 GiB", 24 * GiB), ("24gb", 24 * GiB), ("16g", 16 * GiB),
    ("512MB", 512 * 2**20), ("512 mib", 512 * 2**20), ("1.5GB", 3 * GiB // 2),
    ("80GiB", 80 * GiB), ("2TB", 2 * 2**40), ("4096", 4096), ("4096 B", 4096),
    ("24e9", 24_000_000_000), ("24_000_000_000", 24_000_000_000), ("64k", 65536),
])
def test_sizes_parse_with_binary_units_whatever_the_spelling(text: str, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize(("text", "problem"), [
    ("", "not a memory size"), ("GB", "not a memory size"), ("24 GQ", "unknown unit 'GQ'"),
    ("-1GB", "not a memory size"), ("0", "at least 1 byte"), ("lots", "not a memory size"),
])
def test_bad_sizes_are_value_errors_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_bytes(text)


@given(st.integers(min_value=1, max_value=2**50))
def test_formatted_sizes_parse_back_within_rounding(n: int) -> None:
    assert abs(parse_bytes(format_bytes(n)) - n) <= max(1, n // 1000)


def test_options_take_a_budget_as_text_and_refuse_unknown_fields() -> None:
    assert VerifyOptions(budget_bytes="24GB").budget_bytes == 24 * GiB
    with pytest.raises(ValidationError, match="unknown unit"):
        VerifyOptions(budget_bytes="24 parsecs")
    with pytest.raises(ValidationError, match="extra"):
        VerifyOptions.model_validate({"batchsize": 3})


def test_the_verdict_is_tight_under_ten_percent_margin() -> None:
    assert _fit(100, 80, 10).verdict == "fits"
    tight = _fit(100, 95, 10)
    assert tight.verdict == "tight" and tight.fits and tight.margin == 5
    over = _fit(100, 120, 101)
    assert over.verdict == "does-not-fit" and over.margin == -20 and not over.inference_fits


@pytest.mark.parametrize("slope", [3, 7, 100])
def test_the_batch_search_finds_the_largest_fitting_batch_in_few_runs(slope: int) -> None:
    runs: list[int] = []

    def needed(batch_size: int) -> int:
        runs.append(batch_size)
        return 1000 + slope * batch_size + (batch_size % 3)  # nearly linear

    budget = 1000 + slope * 37
    best, peak = _largest_batch(needed, budget, 200, needed(200))
    runs.pop(0)
    assert peak <= budget < needed(best + 1)
    assert len(runs) <= 8


def test_the_batch_search_says_when_even_one_does_not_fit() -> None:
    assert _largest_batch(lambda batch_size: 500 * batch_size, 100, 8, 4000) == (0, 500)
