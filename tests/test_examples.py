"""Example questions (routing.examples): a pack's eval questions and the corpus's shipped bank
are evidence for the documents they name, and an eval run never scores a file against its own
questions."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from test_routing import FILES

from conftest import ROOT, write_tree
from skillsrv.packs import load_source
from skillsrv.routing import Router
from skillsrv.routing import examples as example_code
from skillsrv.routing.evals import load_evals, run_evals
from skillsrv.routing.models import Evidence, RouteCandidate

sys.path.insert(0, str(ROOT / "scripts"))
from fit_routing import CORPUS_EVALS  # the files the shipped bank is built from

EVALS = """cases:
  - query: "our drone photos of wheat fields need sorting into healthy and blighted"
    expect: cnn.md
  - query: "vibration readings from a pump, want to predict the next hour"
    expect: sequences.md
  - query: "not sure what I need"
    expect: clarify
"""
QUERY = "sorting drone photos of barley fields into healthy and blighted plots"


def _router(tmp_path: Path, evals: str | bytes = EVALS) -> Router:
    return Router(load_source(write_tree(tmp_path / "vision", {**FILES, "evals.yaml": evals})))


def _examples(routes: list[RouteCandidate], sheet: str) -> list[Evidence]:
    route = next(r for r in routes if r.sheet == sheet)
    return [e for e in route.evidence if e.kind == "example"]


def test_a_packs_eval_question_is_shown_as_evidence_for_the_sheet_it_names(
        tmp_path: Path) -> None:
    decision = _router(tmp_path).route(QUERY)
    assert decision.routes[0].sheet == "cnn.md"
    found = _examples(decision.routes, "cnn.md")
    assert len(found) == 1 and "wheat fields" in found[0].text
    assert found[0].source == "vision/evals.yaml:2"


def test_an_eval_run_hides_the_files_own_questions(tmp_path: Path) -> None:
    router = _router(tmp_path)
    evals = load_evals(tmp_path / "vision" / "evals.yaml")
    hidden = router.route(QUERY, hide_examples_from=evals.origin)
    assert not _examples(hidden.routes, "cnn.md")
    cnn = router.index.index_of(("vision", "using-vision", "cnn.md"))
    assert cnn is not None
    assert router.meaning.closest_examples(QUERY, [cnn], evals.origin) == [None]
    shown = router.meaning.closest_examples(QUERY, [cnn])[0]
    assert shown is not None and shown[0].query.startswith("our drone photos")
    # The same questions in another file are that file's, and count.
    other = tmp_path / "other.yaml"
    other.write_text(EVALS.replace("cases:", "# a copy\ncases:"))
    assert load_evals(other).origin != evals.origin
    assert run_evals(router, evals).cases == 3


@pytest.mark.parametrize("broken", ["cases: [unclosed\n", b"\xff\xfe\x00 not text"],
                         ids=["bad YAML", "not UTF-8"])
def test_a_broken_evals_file_costs_only_its_examples(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, broken: str | bytes) -> None:
    with caplog.at_level(logging.WARNING, logger="skillsrv.routing"):
        decision = _router(tmp_path, broken).route(QUERY)
    assert decision.routes
    assert not [e for route in decision.routes for e in route.evidence if e.kind == "example"]
    assert "evals.yaml:" in caplog.text and "without its example questions" in caplog.text


def test_shortened_expectations_name_their_documents_and_unknown_ones_are_dropped(
        tmp_path: Path) -> None:
    router = _router(tmp_path)
    found = example_code.resolve(router.catalog, router.index.candidates,
                                 ["cnn.md", "vision/using-vision/sequences.md", "using-vision",
                                  "nowhere.md", "redirect:training-optimization"])
    labels = {expect: example_code.candidate_label(router.index.candidates[index])
              for expect, index in found.items()}
    assert labels["cnn.md"] == "vision/using-vision/cnn.md"
    assert labels["vision/using-vision/sequences.md"] == "vision/using-vision/sequences.md"
    assert labels["using-vision"] == "vision/using-vision"
    assert labels["redirect:training-optimization"] == "redirect:training-optimization"
    assert "nowhere.md" not in found


def test_a_broken_shipped_bank_is_skipped_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    with caplog.at_level(logging.WARNING, logger="skillsrv.routing"):
        assert example_code.shipped(tmp_path) == []
    assert "broken.npz: not an example bank" in caplog.text


def test_the_shipped_bank_holds_every_fitted_corpus_file_as_it_is_now_and_no_blind_one() -> None:
    banks = example_code.shipped()
    assert len(banks) == 1
    bank, vectors = banks[0]
    assert vectors.shape == (len(bank), 256)
    by_origin: dict[str, int] = {}
    for example in bank:
        by_origin[example.origin] = by_origin.get(example.origin, 0) + 1
    for path in CORPUS_EVALS:
        evals = load_evals(path)
        # An edited file would no longer be hidden from its own eval run: rebuild the bank.
        assert by_origin.get(evals.origin) == sum(c.expect != "clarify" for c in evals.cases), \
            f"{path.name} changed since scripts/build_examples.py ran"
    fitted = {load_evals(path).origin for path in CORPUS_EVALS}
    assert set(by_origin) == fitted
    for blind in sorted((ROOT / "tests" / "evals").glob("corpus*.yaml")):
        if blind not in CORPUS_EVALS:
            assert load_evals(blind).origin not in by_origin, blind.name
