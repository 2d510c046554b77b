"""Reranking the head of the lexical ranking: a linear model over a few features, fitted on evals.

BM25F finds the right document among its first 20 candidates for about 98% of the eval
questions, but puts it first for only about two thirds: long questions share incidental words
("tomorrow", "payments", "OOM") with sheets about something else. A human reads past those to
the part of the sheet that answers. The features below approximate that reading, and the
weights that combine them are fitted on evals (`routing.fit`), not chosen by hand:

- lexical, body, pack: the BM25F score and the body's and the pack's shares of it, relative to
  the best candidate's score; rank: log(1 + position) in the lexical ranking;
- section: how much of the query (by IDF) the best-matching section of the body covers (not
  counting a router's sections that send readers elsewhere: they are about other documents);
- question: the BM25F score of the question's last sentence ending in "?" (what is asked,
  rather than the story around it);
- summary: the BM25 score of the description and opening paragraphs (what the document says
  it is about);
- router, redirect: the candidate is a pack's router, or a pack that is named but not loaded;
- meaning_*: embedding similarities with the candidate's summary, routing phrases and best
  section (`routing.semantic`); example_*: with the example questions that name it
  (`routing.examples`).

A softmax over the head turns the linear scores into probabilities; they are the routes'
confidence and the basis for abstaining.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skillsrv.routing import semantic
from skillsrv.routing.index import RoutingIndex

FEATURES = ("lexical", "rank", "router", "redirect", "body", "pack", "section", "question",
            "summary", *semantic.FEATURES)
# The meaning features of a head: one row per candidate (see routing.semantic).
MeaningOf = Callable[[list[int]], list[list[float]]]
HEAD = 20  # candidates reranked: the lexical ranking's recall at 20 is ~98% on the evals
# Lexical scores: a numpy array of one BM25F score per candidate (0.0: no term matched).
Scores = Any

# Two regimes, fitted apart because they differ: with one pack loaded (the default: this
# server's own pack) the pack's share of a score says nothing and a router competes only with
# its own sheets; with many, which pack a question belongs to is most of the decision.
ONE_PACK = "one pack"
MANY_PACKS = "many packs"
# Many packs with a query adapter fitted on their evals (routing.adapter): the meaning features
# mean more, and are weighed apart.
ADAPTED = "many packs, adapted"

# Fitted (listwise softmax, L2 0.03) by `scripts/fit_routing.py`: one pack on the bundled
# pack's eval files, many packs on the corpus's; and by `scripts/fit_adapter.py` for the
# corpus's adapted regime, on heads read by adapters fitted without those questions. Both print
# the cross-validated accuracy.
WEIGHTS: dict[str, dict[str, float]] = {
    ONE_PACK: {
        "lexical": 2.525, "rank": -0.6588, "router": 0.01958, "redirect": 0.3357,
        "body": 1.157, "pack": 0.2551, "section": 1.89, "question": 1.034, "summary": 0.4273,
        "meaning_summary": 3.266, "meaning_route": 4.14, "meaning_section": 0.6002,
        "example_best": 2.659, "example_two": 2.849,
    },
    MANY_PACKS: {
        "lexical": 1.255, "rank": -0.2085, "router": -0.05196, "redirect": -0.2367,
        "body": 3.064, "pack": 1.855, "section": 2.71, "question": 1.097, "summary": 0.5316,
        "meaning_summary": 0.9724, "meaning_route": -0.3441, "meaning_section": 4.207,
        "example_best": 6.148, "example_two": 6.672,
    },
    ADAPTED: {
        "lexical": 1.323, "rank": -0.224, "router": 0.008341, "redirect": -0.574,
        "body": 3.126, "pack": 1.946, "section": 2.791, "question": 1.091, "summary": 0.6127,
        "meaning_summary": 2.819, "meaning_route": 0.3855, "meaning_section": 4.473,
        "example_best": 6.025, "example_two": 6.511,
    },
}


def regime(packs: int) -> str:
    """Which weights and thresholds a catalog of `packs` loaded packs uses."""
    return ONE_PACK if packs <= 1 else MANY_PACKS


_QUESTION = re.compile(r"[^.?!]*\?")


@dataclass(frozen=True, slots=True)
class Ranked:
    index: int  # candidate index
    lexical: float  # BM25F score: how strongly the words matched, comparable across queries
    logit: float
    probability: float  # of being the answer, among the head


def question_part(text: str) -> str:
    """The question a message asks: its last sentence ending in "?", else the whole message (a
    last sentence such as "lr sweeps haven't helped" is a detail, not the ask)."""
    questions = _QUESTION.findall(text)
    if questions:
        return str(questions[-1])
    return text


def head_of(scores: Scores, depth: int = HEAD) -> list[int]:
    """The best `depth` matched candidates by lexical score (ties broken by candidate order:
    the sort is stable)."""
    matched = scores.nonzero()[0]
    order = (-scores[matched]).argsort(kind="stable")[:depth]
    head: list[int] = matched[order].tolist()
    return head


def features(index: RoutingIndex, scores: Scores, head: list[int],
             query: frozenset[str], question: frozenset[str],
             meaning: MeaningOf | None = None) -> list[list[float]]:
    """One row of FEATURES per head candidate. `scores` are the lexical scores of the whole
    query; `query` and `question` the terms (with neighbouring pairs) of the query and of its
    question part; `meaning` the embedding similarities of the head (zeros without)."""
    if not head:
        return []
    meanings = meaning(head) if meaning is not None else \
        [[0.0] * len(semantic.FEATURES) for _ in head]
    lexical: list[float] = scores[head].tolist()
    top = lexical[0] or 1.0
    body = index.score_of(query, head, ("body",))
    pack = index.score_of(query, head, ("pack",))
    words = sorted(term for term in query if "_" not in term)  # sorted: sums to the bit
    sections = index.section_cover(head, [(word, index.idf.get(word, 0.0)) for word in words])
    # Most queries are one sentence: then what is asked is the whole query.
    asked = lexical if question == query else index.score_of(question, head)
    summaries = index.summary_score(frozenset(words), head)
    best_section, best_asked, best_summary = (max(max(v), 1e-9)
                                              for v in (sections, asked, summaries))
    rows = []
    rank = 0
    for position, candidate_index in enumerate(head):
        candidate = index.candidates[candidate_index]
        if position and lexical[position] < lexical[position - 1]:
            rank = position  # equal scores share a rank ("1, 2, 2, 4")
        rows.append([
            lexical[position] / top,
            math.log1p(rank),
            float(candidate.is_router),
            float(candidate.redirect is not None),
            body[position] / top,
            pack[position] / top,
            sections[position] / best_section,
            asked[position] / best_asked,
            summaries[position] / best_summary,
            *meanings[position],
        ])
    return rows


def rerank(index: RoutingIndex, scores: Scores, query: frozenset[str],
           question: frozenset[str], weights: dict[str, float] | None = None,
           meaning: MeaningOf | None = None) -> list[Ranked]:
    """The head of the lexical ranking, best first by the fitted model."""
    head = head_of(scores)
    rows = features(index, scores, head, query, question, meaning)
    vector = [(weights or WEIGHTS[MANY_PACKS])[name] for name in FEATURES]
    logits = [sum(w * x for w, x in zip(vector, row, strict=True)) for row in rows]
    if not logits:
        return []
    peak = max(logits)
    exps = [math.exp(logit - peak) for logit in logits]
    total = sum(exps)
    ranked = [Ranked(i, lexical, logit, e / total)
              for i, lexical, logit, e in zip(head, scores[head].tolist(), logits, exps,
                                              strict=True)]
    # Stable: equal logits keep the lexical order.
    return sorted(ranked, key=lambda r: -r.logit)
