"""Scaffolding from the user's words: routing picks the sheet, its slots size the model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from skillsrv.errors import UsageError
from skillsrv.routing import Decision, Router
from skillsrv.scaffold.api import ScaffoldResult, scaffold_situation
from skillsrv.scaffold.blueprint import Blueprint
from skillsrv.scaffold.query import situation_from_query


def scaffold_from_query(query: str, router: Router, blueprints: Sequence[Blueprint],
                        overrides: Mapping[str, str] | None = None) -> ScaffoldResult:
    """Route `query`, build the Situation from what it says, and scaffold a fitting model.

    A query that does not say what data the model is for is refused with the questions the
    router would ask, instead of a guess.
    """
    decision = router.route(query)
    situation = situation_from_query(query, decision.known)
    if situation.modality is None and situation.task is None:
        questions = "; ".join(q.question for q in decision.questions[:3])
        raise UsageError("the query does not say what data the model is for",
                         hint=f"ask first: {questions}" if questions else
                         "describe the data (images, text, time series, tables, graphs)")
    result = scaffold_situation(situation, blueprints, overrides)
    notes: list[str] = []
    if decision.decision is Decision.ROUTE and decision.routes:
        best = decision.routes[0]
        where = best.sheet or f"{best.skill}/SKILL.md"
        notes.append(f"routed to {best.pack}/{where} ({best.confidence:.0%} confidence)")
    if decision.decision is Decision.REDIRECT and decision.redirect is not None:
        notes.append(f"note: the question also belongs to the {decision.redirect.pack} pack "
                     f"({decision.redirect.reason})")
    notes += [f"warning: {warning.message}" for warning in decision.warnings]
    return result.model_copy(update={"rationale": [*notes, *result.rationale]})
