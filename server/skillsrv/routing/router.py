"""Routing a query: the right sheet with evidence, a redirect to another pack, or the questions
to ask first.

The order of decisions:
1. A wrong-route rule whose symptom the query matches wins: its correct route is the answer
   (or a redirect, when that pack is not loaded).
2. Otherwise candidates are ranked lexically and the head is reranked by a fitted model
   (`rerank`); a redirect candidate on top means "another pack".
3. When the best lexical score is weak or the runner-up's probability too close, the decision
   is `clarify`.
The model's weights and the thresholds are fitted on the eval files (`scripts/fit_routing.py`;
`skillsrv eval --fit --calibrate` for one's own packs), not chosen for single queries.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property, lru_cache

from skillsrv.errors import SkillsrvError
from skillsrv.packs.model import Catalog, Document, RedFlag
from skillsrv.routing import body as body_code
from skillsrv.routing import questions as asking
from skillsrv.routing.adapter import adapter_for
from skillsrv.routing.examples import SHOWN_SIMILARITY, Example, ExampleBank
from skillsrv.routing.index import (
    Candidate,
    EvidenceItem,
    PackQuestions,
    RedirectRule,
    RoutingIndex,
)
from skillsrv.routing.models import (
    ClarifyResult,
    Decision,
    Evidence,
    Question,
    Redirect,
    RouteCandidate,
    RouteDecision,
    Slots,
    Warning,
)
from skillsrv.routing.rerank import (
    ADAPTED,
    MANY_PACKS,
    ONE_PACK,
    WEIGHTS,
    MeaningOf,
    Ranked,
    features,
    head_of,
    question_part,
    regime,
    rerank,
)
from skillsrv.routing.semantic import Meaning
from skillsrv.routing.slots import extract_slots
from skillsrv.routing.spelling import Speller
from skillsrv.routing.text import term_set, terms, with_bigrams, word_terms


class QueryError(SkillsrvError):
    """The query cannot be routed as given (empty, too long, not text, nothing loaded)."""

    exit_code = 2


@dataclass(frozen=True)
class Thresholds:
    """When to abstain. Fitted by `scripts/fit_routing.py` per regime, like the reranker's
    weights (pack authors can fit their own with `skillsrv eval --calibrate`)."""

    min_score: float = 6.0  # below this best lexical score, ask instead of guessing...
    # ...unless the reranker gives the best route at least this probability: few words of
    # the packs' own, but meaning and example questions agree ("every character in my novel
    # talks exactly like me"). Above 1: never.
    sure_probability: float = 1.01
    # The best route's probability minus the runner-up's below this: too close to call.
    min_margin: float = 0.005
    rule_coverage: float = 0.9  # share of a wrong-route symptom's weight the query must cover
    # Off the packs' subject: a best lexical score under `subject_score` and no example
    # question of the top routes as close as `subject_similarity` (cosine) is a question the
    # packs' words touch only in passing (a turkey's roasting time and a sheet on differential
    # equations). 0: never.
    subject_score: float = 0.0
    subject_similarity: float = 0.0


# The off-subject pair of each regime is fitted by scripts/fit_subject.py.
DEFAULT_THRESHOLDS = {ONE_PACK: Thresholds(subject_score=7.0, subject_similarity=0.3),
                      MANY_PACKS: Thresholds(min_score=4.0, sure_probability=0.7,
                                             min_margin=0.005, subject_score=5.0,
                                             subject_similarity=0.35),
                      # Calibrated out of fold by scripts/fit_adapter.py (see there why).
                      ADAPTED: Thresholds(min_score=5.0, sure_probability=0.7,
                                          min_margin=0.005, subject_score=5.0,
                                          subject_similarity=0.35)}
# A question about what the packs cover ("which guides are there?", "overview please").
OVERVIEW = re.compile(
    r"\boverview\b|\bsub-?guides?\b|\btable of contents\b|"
    r"\bwhat( [\w-]+)? (topics|guides|sheets|docs|areas|subjects)\b|"
    r"\bwhich( [\w-]+)? (guides?|sheets?|docs?|topics)\b|"
    r"\b(list|show) (me )?(of |all )?(the |your )?(guides|topics|sheets|docs|areas)\b|"
    r"\bwhat (does|do) (this|the|your) [\w\s-]{0,40}\bcover\b", re.IGNORECASE)
# A request to choose ("which model should I use?", "what network would you recommend?").
CHOICE = re.compile(
    r"\b(which|what)( [\w-]+){0,2} (models?|architectures?|networks?|nets?)"
    r"( (should|would|do|to|for|is|are|works?|fits?)\b|\s*[?!.]|\s*$)|"
    r"\bbest (\w+ )?(models?|architectures?|networks?|nets?)\b|\brecommend\b|"
    r"\bwhere (do|should) (i|we) (even )?start\b|"
    r"\bwhat (should|do|would|could) (i|we) (build|use|train|pick|choose)\b|"
    r"\bwhich (one|type|kind|family)( of [\w-]+)? (should|would|do|could) (i|we) "
    r"(use|pick|choose|train|go with)\b", re.IGNORECASE)
_MISSING = re.compile(r"\s*(no|missing|without)\b", re.IGNORECASE)  # "No modality given"
MAX_ROUTES = 5
MIN_SUBJECT_TERMS = 3  # distinct terms a question needs before it is judged off the subject
# A wrong-route symptom matches only where its words fall within this many query terms per
# word matched (stopwords do not count).
RULE_WINDOW = 3

# Unicode's surrogates (Cs) and private-use characters (Co): what undecodable bytes become.
_NOT_TEXT = re.compile("[\ud800-\udfff\ue000-\uf8ff\U000f0000-\U000ffffd"
                       "\U00100000-\U0010fffd]")
# Control characters (Cc) but tab, newline and carriage return.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_query(query: object, max_chars: int) -> str:
    if not isinstance(query, str):
        raise QueryError("the query must be text", hint="send the user's words as a string")
    if "\x00" in query or _NOT_TEXT.search(query):
        raise QueryError("the query contains non-text characters",
                         hint="send plain text (UTF-8), not binary data")
    controls = len(_CONTROLS.findall(query))
    if controls > max(3, len(query) // 20):
        raise QueryError("the query contains non-text characters",
                         hint="send plain text (UTF-8), not binary data")
    stripped = " ".join(query.split())
    if not stripped:
        raise QueryError("the query is empty", hint="send the user's words")
    if len(query) > max_chars:
        raise QueryError(f"the query is {len(query):,} characters; the limit is {max_chars:,}",
                         hint="send the user's question, not whole documents")
    return stripped


# Routed once by `Router.warm_up`: a question that takes the whole path (terms, meaning,
# evidence, slots, questions).
WARM_UP_QUERY = "Which network should I train on 8k labelled images with one 24GB GPU?"


class Router:
    """Routes queries over every pack of a catalog. Thread-safe: the index is read-only."""

    def __init__(self, catalog: Catalog, *, max_query_chars: int = 10_000,
                 thresholds: Thresholds | None = None, adapt: bool = True) -> None:
        self.catalog = catalog
        self.index = RoutingIndex(catalog)
        self.max_query_chars = max_query_chars
        loaded = [pack.name for pack in catalog.packs if pack.skills]
        self.regime = regime(len(loaded))
        # A query adapter fitted on evals for these packs, if one ships (`adapt=False`: none,
        # as when one is being fitted).
        adapter = adapter_for(loaded) if adapt and self.regime == MANY_PACKS else None
        if adapter is not None:
            self.regime = ADAPTED
        self.thresholds = thresholds or DEFAULT_THRESHOLDS[self.regime]
        # The reranker's; `skillsrv eval --fit` refits them.
        self.weights = dict(WEIGHTS[self.regime])
        self.speller = Speller(self.index.idf)
        self.meaning = Meaning(catalog, self.index.candidates, self.index.meaning_vectors,
                               adapter, ExampleBank(catalog, self.index.candidates))
        # Per candidate, as routes first show it: each term -> the evidence items holding it
        # (a candidate has dozens of items; a query shares terms with a few).
        self._evidence_by_term: dict[int, dict[str, tuple[int, ...]]] = {}
        self._section_lines: dict[int, list[int]] = {}  # per candidate, as evidence needs them
        self.warmed = False  # whether `warm_up` has run
        self.completed = False  # whether `complete` has run

    # -- public ----------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load now what routing otherwise loads on the first queries that need it: the
        embedding model and example questions, the English word list (for misspellings) and
        which packs are about models. Together that is most of a second on a slow machine, paid
        by whoever asks first; a server calls this in the background once its packs are
        loaded. Thread-safe, and routes come out the same with or without it."""
        self.meaning.warm_up()
        self.speller.warm_up()
        _ = self._model_packs
        self.route(WARM_UP_QUERY)  # whatever else the route path reads once
        self.warmed = True

    def complete(self) -> bool:
        """Do now what a freshly built index otherwise does as queries first reach each
        candidate: score every body posting, index every word's sections and embed every
        candidate (seconds for a large catalog, where the first few hundred queries would
        each pay a share: p50 18 ms, p99 173 ms over bench_routing's first pass). A server
        calls this in the background after each build; a no-op for an index read complete
        from its cache file. Its cache file is rewritten complete when it was written lazy.
        Thread-safe, and routes come out the same with or without it. True when there was
        anything to do."""
        # Embedding first: a query meanwhile that must embed its own candidates hands the
        # interpreter lock back and forth with every small numpy call, and waits long for it
        # while another thread runs pure Python (0.8 s for one query, measured); the
        # tokenizer, most of embedding, runs without the lock.
        embedded = self.meaning.embed_all()
        scored = self.index.complete()
        self.index.store_complete()
        self.completed = True
        return scored or embedded > 0

    def route(self, query: str, *, hide_examples_from: str | None = None) -> RouteDecision:
        """Where the answer lives. `hide_examples_from`: the origin of an evals file whose
        example questions must not count (an eval run of that file)."""
        typed = self._validated(query)
        hidden = hide_examples_from
        sequence, corrected, text, query_terms, question_terms = self._read(typed)
        words = _surface_words(typed)  # evidence is shown in the user's own words
        words.update({term: word for word, term, _ in corrected})
        # Slots are not added as query terms: "node", "rows" or "signals" in a query about
        # databases or teams would pull it towards ML sheets (measured: it cost accuracy).
        slots = extract_slots(text)
        rule, coverage = self._matching_rule(query_terms, sequence)
        ranked, decided = self._rank(text, query_terms, question_terms, rule, coverage, hidden)
        warnings = [*_spelling_warnings(corrected),
                    *self._warnings(text, query_terms, slots, ranked)]
        if rule is not None and rule.target_pack is not None and \
                self.index.candidate((rule.target_pack, "", None)) is not None and \
                self.catalog.find_pack(rule.target_pack) is None:
            return RouteDecision(
                decision=Decision.REDIRECT,
                routes=self._routes(ranked, query_terms, words, text, hidden)[:3],
                redirect=Redirect(pack=rule.target_pack, reason=rule.why or rule.symptom,
                                  source=rule.source),
                known=slots.known(), warnings=warnings)
        if not ranked:
            # Words that no loaded guide has (a sourdough recipe asked of a model-design pack)
            # say the question is likely outside them: asking about its data would be noise.
            unmatched = [words.get(term, term) for term in dict.fromkeys(sequence)]
            if unmatched and self._about_models(text):
                unmatched = []  # "help me pick a model" of a small pack: vague, not elsewhere
            if unmatched:
                warnings.append(Warning(kind="scope", message=_scope_message(
                    unmatched, [pack.name for pack in self.catalog.packs])))
            return self._clarify_decision(slots, None, [], warnings, [],
                                          out_of_scope=asking.SCOPE_WHY if unmatched else None)
        best = self.index.candidates[ranked[0].index]
        top = self._top(ranked)
        closest = self.meaning.closest_examples(text, [entry.index for entry in top], hidden)
        # Judged before a redirect too: what the routers say of a pack that is not loaded
        # can match a student loan's words as well as a sheet's can.
        off_subject = rule is None and not decided and bool(top) and \
            self._off_subject(ranked[0].lexical, closest)
        if best.redirect is not None and (
                rule is not None or (self._confident(ranked) and not off_subject)):
            reason = next((e.text for e in best.evidence if e.terms & query_terms and
                           e.kind == "wrong-route"), f"this belongs to the {best.redirect} pack")
            source = next((e.source for e in best.evidence if e.terms & query_terms), None)
            return RouteDecision(
                decision=Decision.REDIRECT,
                routes=self._routes(ranked, query_terms, words, text, hidden, closest)[:3],
                redirect=Redirect(pack=best.redirect, reason=reason, source=source),
                known=slots.known(), warnings=warnings)
        routes = self._routes(ranked, query_terms, words, text, hidden, closest)
        # Two words ("help me choose") say too little to be judged off the subject, and a
        # request in words of building models to packs about models is not: vague requests,
        # asked (below) what decides the answer.
        if off_subject and len(set(sequence)) >= MIN_SUBJECT_TERMS and \
                not self._about_models(text):
            warnings.append(Warning(kind="scope", message=(
                f"the best match ({_route_name(routes[0])}) shares only passing words with "
                "the question, and no example question is like it: the question is probably "
                "outside what the loaded packs cover")))
            return self._clarify_decision(slots, None, routes, warnings, [],
                                          out_of_scope=asking.OFF_SUBJECT_WHY)
        # An overview question needs no red flags; a rule's route still asks what they ask.
        flags = [] if decided and rule is None else \
            self._open_red_flags(best.pack, text, query_terms, slots)
        if rule is None and (off_subject or not self._confident(ranked, decided) or flags):
            return self._clarify_decision(slots, best if best.redirect is None else None,
                                          routes, warnings, flags)
        questions = self._questions(slots, best, flags)
        return RouteDecision(decision=Decision.ROUTE, routes=routes, questions=questions,
                             known=slots.known(), warnings=warnings)

    def clarify(self, query: str) -> ClarifyResult:
        decision = self.route(query)
        return ClarifyResult(known=decision.known, questions=decision.questions)

    # -- scoring ---------------------------------------------------------------------------

    def _validated(self, query: str) -> str:
        text = check_query(query, self.max_query_chars)
        if not self.catalog.packs:
            raise QueryError("no packs are loaded",
                             hint="add a pack source in manifest.yaml or with --pack-path")
        return text

    def head(self, query: str, *, hide_examples_from: str | None = None
             ) -> tuple[list[Ranked], list[list[float]]]:
        """The lexical head and its feature rows, in lexical order (for fitting): the query
        read as `route` reads it."""
        _, _, text, query_terms, question_terms = self._read(query)
        scores = self.index.score(query_terms)
        head = head_of(scores)
        rows = features(self.index, scores, head, query_terms, question_terms,
                        self._meaning_of(text, hide_examples_from))
        return [Ranked(i, lexical, 0.0, 0.0)
                for i, lexical in zip(head, scores[head].tolist(), strict=True)], rows

    def _meaning_of(self, text: str, hidden: str | None) -> MeaningOf:
        return lambda head: self.meaning.features(text, head, hidden)

    def _read(self, typed: str) -> tuple[list[str], list[Correction], str, frozenset[str],
                                        frozenset[str]]:
        """How a query is read: its terms in order and the spelling corrections made, the
        text with misspelt words replaced ("5k imges" is read as "5k images" from here on),
        its terms with neighbouring pairs, and the terms of its question part."""
        sequence, corrected = self._sequence(typed)
        query_terms = frozenset(with_bigrams(sequence))
        text = _as_read(typed, corrected)
        # The read text's terms are the query's unless a correction changed its words.
        question_terms = self._question_terms(text, query_terms if text == typed else None)
        return sequence, corrected, text, query_terms, question_terms

    def _terms(self, text: str) -> tuple[frozenset[str], list[Correction]]:
        """The query's terms with neighbouring pairs, misspelt words read as the packs' terms,
        and the corrections made: (word, term, the English word it was read as, if known)."""
        found, corrected = self._sequence(text)
        return frozenset(with_bigrams(found)), corrected

    def _sequence(self, text: str) -> tuple[list[str], list[Correction]]:
        """The query's terms in order (misspelt words corrected), and the corrections."""
        found: list[str] = []
        corrected: list[Correction] = []
        for word, term in word_terms(text):
            better = self.speller.correct(word, term)
            if better is not None:
                term, spelled = better
                corrected.append((word, term, spelled))
            found.append(term)
        return found, corrected

    def _question_terms(self, text: str, text_terms: frozenset[str] | None) -> frozenset[str]:
        """The terms of what `text` asks: `text_terms` (the terms of all of `text`, when the
        caller has them) if that is all of it, as in a message with no question mark."""
        question = question_part(text)
        if question == text and text_terms is not None:
            return text_terms
        return self._terms(question)[0]

    def _matching_rule(self, query_terms: frozenset[str],
                       sequence: list[str]) -> tuple[RedirectRule | None, float]:
        """The wrong-route rule whose symptom the query says best, and how much of it. A
        symptom is a short phrase: its words must occur close together in the query, not
        anywhere in a long story ("model" in one sentence and "loaded" in another is not
        "Model won't load")."""
        best: tuple[RedirectRule | None, float] = (None, 0.0)
        idf = self.index.idf
        short_query = len(query_terms) <= 2
        positions: dict[str, list[int]] | None = None
        for rule in self.index.rules:
            overlap = rule.symptom_terms & query_terms
            # One shared word is weak evidence, unless both the rule and the query are that short.
            if len(overlap) < 2 and not (short_query and len(rule.symptom_terms) == 1 and overlap):
                continue
            # fsum: equal coverages stay equal whatever order the sets yield their terms in.
            total = math.fsum(idf.get(t, 1.0) for t in rule.symptom_terms)
            coverage = math.fsum(idf.get(t, 1.0) for t in overlap) / total * rule.strength
            if coverage < self.thresholds.rule_coverage or coverage <= best[1]:
                continue
            if len(sequence) > RULE_WINDOW * len(overlap):
                if positions is None:
                    positions = {}
                    for place, term in enumerate(sequence):
                        positions.setdefault(term, []).append(place)
                if _span(overlap, positions) > RULE_WINDOW * len(overlap):
                    continue
            best = (rule, coverage)
        return best

    def _rank(self, text: str, query_terms: frozenset[str], question_terms: frozenset[str],
              rule: RedirectRule | None, coverage: float,
              hidden: str | None) -> tuple[list[Ranked], bool]:
        """The reranked head, then what explicit rules say: a wrong-route rule's target, or
        the pack's router for a question about what the pack covers, goes first. The flag
        says whether such a rule (rather than the model) chose the first route."""
        scores = self.index.score(query_terms)
        ranked = rerank(self.index, scores, query_terms, question_terms, self.weights,
                        self._meaning_of(text, hidden))
        target_index: int | None = None
        if rule is not None and ranked:
            target_index = self._rule_target(rule, ranked)
        elif OVERVIEW.search(text):
            target_index = self._overview_target(ranked)
        if target_index is None or (ranked and target_index == ranked[0].index):
            return ranked, target_index is not None
        if not ranked:  # nothing matched, but with one pack loaded its router is the answer
            return [Ranked(target_index, 0.0, 0.0, 1.0)], True
        first = ranked[0]
        moved = next((r for r in ranked if r.index == target_index), None)
        # The evidence for the query as a whole stays what it was (and a rule adds to it).
        lexical = max(first.lexical, moved.lexical if moved else 0.0) * (1 + coverage)
        # The moved route takes the first place's probability: the rule, not the model, is
        # what makes it the answer.
        promoted = Ranked(target_index, lexical, first.logit, first.probability)
        rest = [r if r is not first else Ranked(r.index, r.lexical, r.logit,
                                                moved.probability if moved else 0.0)
                for r in ranked if r.index != target_index]
        return [promoted, *rest], True

    def _rule_target(self, rule: RedirectRule, ranked: list[Ranked]) -> int | None:
        if rule.target_key is not None:
            return self.index.index_of(rule.target_key)
        if rule.target_pack is None:
            return None
        # The rule names a loaded pack: its best-ranked document, else its router.
        in_pack = [r.index for r in ranked
                   if self.index.candidates[r.index].pack == rule.target_pack]
        if in_pack:
            return in_pack[0]
        pack = self.catalog.find_pack(rule.target_pack)
        if pack and pack.skills:
            return self.index.index_of((pack.name, (pack.router or pack.skills[0]).name, None))
        return None

    def _overview_target(self, ranked: list[Ranked]) -> int | None:
        """"Which guides do you have?" is answered by a router, which lists them: the only
        pack's, or the best-ranked pack's."""
        only = self.catalog.packs[0] if len(self.catalog.packs) == 1 else None
        if only is not None and only.router is not None:
            return self.index.index_of((only.name, only.router.name, None))
        if not ranked:
            return None
        top = self.index.candidates[ranked[0].index]
        for entry in ranked[:MAX_ROUTES]:
            candidate = self.index.candidates[entry.index]
            if candidate.sheet is None and candidate.redirect is None and \
                    candidate.pack == top.pack:
                return entry.index
        return None

    def _confident(self, ranked: list[Ranked], decided: bool = False) -> bool:
        """Strong enough evidence, and (unless a rule chose) a clear lead over the runner-up.
        With one pack loaded, "what does it cover?" needs no more evidence than being asked."""
        if decided and len(self.catalog.packs) == 1:
            return True
        if ranked[0].lexical < self.thresholds.min_score and \
                ranked[0].probability < self.thresholds.sure_probability:
            return False
        if decided or len(ranked) == 1:
            return True
        return ranked[0].probability - ranked[1].probability >= self.thresholds.min_margin

    def _open_red_flags(self, pack: str, text: str, query_terms: frozenset[str],
                        slots: Slots) -> list[tuple[RedFlag, str]]:
        """The pack's red flags ("best architecture for X") that the query meets while what
        they ask is still unknown: a slot the query does not fill, or, for a question no slot
        covers ("does it have skip connections?"), a subject the query does not mention
        ("... with no shortcuts"). A flag about something missing ("No modality given") meets
        a request to choose a model that says nothing about the data or the task: the words of
        such requests are too plain to match the flag's own."""
        known = set(slots.known())
        # Slots are a model builder's questions: in other packs a flag's question is its own.
        models = pack in self._model_packs
        vague_choice = models and not ({"modality", "task"} & known) and \
            bool(CHOICE.search(text))
        found: list[tuple[RedFlag, str]] = []
        for flag, source, pattern_terms in self.index.questions.get(pack, PackQuestions()
                                                                    ).red_flags:
            if _MISSING.match(flag.pattern) and vague_choice and \
                    asking.slot_of(flag.pattern) not in known:
                found.append((flag, source))
                continue
            if not _flag_matches(pattern_terms, query_terms):
                continue
            asked = asking.slots_asked(flag.ask) if models else frozenset()
            if asked - known or (
                    not asked and not (term_set(flag.ask) - pattern_terms) & query_terms):
                found.append((flag, source))
        return found

    def _about_models(self, text: str) -> bool:
        """A request in words of building models, to packs mostly about building models."""
        return 2 * len(self._model_packs) > len(self.catalog.packs) and \
            asking.asks_about_models(text)

    def _top(self, ranked: list[Ranked]) -> list[Ranked]:
        """The ranked candidates shown as routes: the best in loaded packs."""
        return [r for r in ranked if self.index.candidates[r.index].redirect is None][:MAX_ROUTES]

    def _off_subject(self, lexical: float, closest: list[tuple[Example, float] | None]) -> bool:
        """Is a question whose best lexical score is `lexical`, and whose top routes' closest
        example questions are `closest`, off the packs' subject? Never when the best route has
        no example questions (no embedding model, or a pack that ships no evals, beside ones
        that do): nothing to tell by."""
        if not closest or closest[0] is None:
            return False
        similarity = max(found[1] for found in closest if found is not None)
        return lexical < self.thresholds.subject_score and \
            similarity < self.thresholds.subject_similarity

    def _routes(self, ranked: list[Ranked], query_terms: frozenset[str],
                words: dict[str, str], text: str, hidden: str | None,
                closest: list[tuple[Example, float] | None] | None = None
                ) -> list[RouteCandidate]:
        """The best routes in loaded packs, each with its probability scaled by how strong
        the lexical evidence is (`closest`: the top routes' closest example questions, when
        the caller has them)."""
        top = self._top(ranked)
        if not top:
            return []
        strength = min(1.0, ranked[0].lexical / (2 * self.thresholds.min_score))
        if closest is None:
            closest = self.meaning.closest_examples(text, [entry.index for entry in top],
                                                    hidden)
        routes = []
        for entry, example in zip(top, closest, strict=True):
            candidate = self.index.candidates[entry.index]
            evidence = self._evidence(entry.index, query_terms, words)
            if example is not None and example[1] >= SHOWN_SIMILARITY:
                evidence.append(Evidence(
                    kind="example", source=example[0].source,
                    text=f"like the example question \"{example[0].query}\" "
                         f"(similarity {example[1]:.2f})"))
            routes.append(RouteCandidate(
                pack=candidate.pack, skill=candidate.skill, sheet=candidate.sheet,
                score=round(entry.lexical, 3),
                confidence=round(min(1.0, entry.probability * strength), 3),
                evidence=evidence))
        return routes

    def _evidence(self, index: int, query_terms: frozenset[str],
                  words: dict[str, str]) -> list[Evidence]:
        candidate = self.index.candidates[index]
        idf = self.index.idf
        by_term = self._evidence_by_term.get(index)
        if by_term is None:
            by_term = self._evidence_by_term[index] = _items_by_term(candidate.evidence)
        # Only the items that share a term with the query, in document order (ties keep it).
        touched = sorted({place for term in by_term.keys() & query_terms
                          for place in by_term[term]})
        scored = []
        for place in touched:
            item = candidate.evidence[place]
            overlap = item.terms & query_terms
            # fsum: the same weight whatever order the set yields its terms in (it varies by
            # process), so items that tie stay in document order.
            weight = math.fsum(idf.get(t, 0.0) for t in overlap) * (len(overlap) /
                                                                   len(item.terms))
            scored.append((weight, item))
        scored.sort(key=lambda pair: -pair[0])
        seen: set[str] = set()
        evidence = []
        for _, item in scored:
            if item.text in seen:
                continue
            seen.add(item.text)
            evidence.append(Evidence(kind=item.kind, text=item.text, source=item.source))  # type: ignore[arg-type]
            if len(evidence) == 4:
                break
        body = candidate.sections
        found = {term: word for term, word in words.items() if term in query_terms and term in body}
        mentioned = sorted(set(found.values()))
        if mentioned and len(evidence) < 5:
            # The line of the section that holds most of the words the query shares with it.
            line = self._best_section_line(index, [body[term] for term in found])
            evidence.append(Evidence(kind="body", text="body mentions: " + ", ".join(mentioned[:8]),
                                     source=f"{candidate.pack}/{candidate.path}"
                                            + (f":{line}" if line else "")))
        return evidence

    def _best_section_line(self, index: int, masks: list[int]) -> int | None:
        """The first line of the body section (of candidate `index`) that the most of `masks`
        (each a word's sections) share, the earliest of a tie; None when the lines are not
        known."""
        starts = self._section_lines.get(index)
        if starts is None:
            starts = self._section_lines[index] = self._section_starts(index)
        number = most_shared_bit(masks)
        return starts[number] if 0 <= number < len(starts) else None

    def _section_starts(self, index: int) -> list[int]:
        """The file line where each body section of candidate `index` starts, cut as the
        index cut them (`body.split_sections`); none for a pack that is not loaded."""
        candidate = self.index.candidates[index]
        doc = self._document(candidate.pack, candidate.skill, candidate.sheet)
        if doc is None:
            return []
        starts = [doc.body_line + start for start in
                  body_code.section_starts(doc.body, body_code.heading_lines(doc))]
        return starts if len(starts) == len(candidate.section_lengths) else []

    def _document(self, pack_name: str, skill_name: str, sheet: str | None) -> Document | None:
        """The loaded document a route or candidate names (None: its pack is not loaded)."""
        pack = self.catalog.find_pack(pack_name)
        skill = pack.find_skill(skill_name) if pack is not None else None
        if skill is None:
            return None
        return skill.document if sheet is None else skill.find_sheet(sheet)

    # -- questions and warnings --------------------------------------------------------------

    @cached_property
    def _model_packs(self) -> frozenset[str]:
        """The loaded packs about building models (`questions.about_models`)."""
        return frozenset(pack.name for pack in self.catalog.packs if asking.about_models(pack))

    def _titles(self, routes: list[RouteCandidate]) -> list[str]:
        """Each route's document as a person would name it: its title, and its pack."""
        names: list[tuple[str, RouteCandidate]] = []
        for route in routes:
            doc = self._document(route.pack, route.skill, route.sheet)
            title = doc.title if doc is not None and doc.title else \
                (route.sheet or route.skill).removesuffix(".md").replace("-", " ")
            names.append((title, route))
        titles = [title for title, _ in names]
        # Two guides of one title are told apart by their files.
        return [f'"{title}" ({route.pack}/{route.sheet or route.skill})'
                if titles.count(title) > 1 else f'"{title}" ({route.pack})'
                for title, route in names]

    def _questions(self, slots: Slots, best: Candidate | None,
                   flags: list[tuple[RedFlag, str]], *, routed: bool = True,
                   routes: list[RouteCandidate] | None = None) -> list[Question]:
        """What to ask, most telling first: the chosen sheet's own questions, the red flags'
        (why the answer must wait), then for a clarify decision which of the close guides is
        meant; the packs' general questions and, for packs about models, skillsrv's own by how
        much each answer changes an architecture choice."""
        known = set(slots.known())
        questions: list[Question] = []
        asked_slots: set[str] = set()
        routes = routes or []
        # The red flags are the best candidate's pack's, and matched the query's words.
        flags_models = best is not None and best.pack in self._model_packs
        if not routed and routes and routes[0].confidence < asking.NO_LEAD:
            best, routes = None, []  # no route leads: its pack's questions would be a guess

        def offer(text: str, why: str | None, source: str, models: bool,
                  slot: str | None = None) -> None:
            slot = slot or (asking.slot_of(text) if models else "other")
            if slot in known or slot in asked_slots:
                return
            if slot != "other":  # two questions on one slot ask the same thing
                asked_slots.add(slot)
            questions.append(Question(slot=slot, question=text, source=source, why=why or (
                asking.DEFAULT_WHY.get(slot, asking.PACK_WHY) if models else asking.PACK_WHY)))

        if best is not None and best.sheet is not None and routed:
            models = best.pack in self._model_packs
            for question, source in self.index.questions.get(
                    best.pack, PackQuestions()).by_target.get(best.sheet, []):
                offer(question.question, question.hint, source, models)
        for flag, source in flags:
            # "No modality given" asks about the modality, however its question is worded.
            offer(flag.ask, flag.why or f"red flag: {flag.pattern}", source, flags_models,
                  asking.slot_of(flag.pattern) if flags_models and _MISSING.match(flag.pattern)
                  else None)
        first = len(questions)
        if best is not None:
            packs = [best.pack]
        elif routes:
            packs = list(dict.fromkeys(route.pack for route in routes[:2]))
        else:  # one pack: its questions; many: none of them stands out
            packs = [pack.name for pack in self.catalog.packs] if len(self.catalog.packs) == 1 \
                else []
        about_models = any(name in self._model_packs for name in packs) \
            if best is not None or routes else 2 * len(self._model_packs) > len(self.catalog.packs)
        # Which of the close guides is meant: for other packs, the best question there is;
        # for packs about models, after the questions that decide an architecture.
        which = None
        close = [] if routed or not routes else [
            route for route in routes[:3]
            if route.confidence >= asking.CLOSE_SHARE * routes[0].confidence]
        if len(close) >= 2:
            which = Question(slot="route", question=asking.which_of(self._titles(close)),
                             why=asking.WHICH_WHY, source="skillsrv")
        elif close:  # one guide leads, too weakly to answer from: confirming it is quickest
            which = Question(slot="route", question=asking.lead_question(self._titles(close)[0]),
                             why=asking.LEAD_WHY, source="skillsrv")
        if which is not None and not about_models:
            questions.append(which)
            first += 1
        for pack_name in packs:
            models = pack_name in self._model_packs
            for question, source in self.index.questions.get(pack_name,
                                                             PackQuestions()).generic:
                offer(question.question, question.hint, source, models)
        if about_models:
            for slot in asking.SLOT_PRIORITY:
                if slot in asking.GENERIC_QUESTION:
                    offer(asking.GENERIC_QUESTION[slot], asking.DEFAULT_WHY[slot], "skillsrv",
                          True, slot)
        order = {slot: rank for rank, slot in enumerate(asking.SLOT_PRIORITY)}
        rest = sorted(questions[first:], key=lambda q: order.get(q.slot, 50))
        ordered = [*questions[:first], *rest]
        if which is not None and about_models:
            ordered.append(which)  # if there is room
        if not routed and not about_models and len(ordered) < 2:
            ordered.append(Question(slot="task", question=asking.OPEN_QUESTION,
                                    why=asking.OPEN_WHY, source="skillsrv"))
        return ordered[:asking.MAX_QUESTIONS]

    def _clarify_decision(self, slots: Slots, best: Candidate | None,
                          routes: list[RouteCandidate], warnings: list[Warning],
                          flags: list[tuple[RedFlag, str]], *,
                          out_of_scope: str | None = None) -> RouteDecision:
        """`out_of_scope`: why the question is probably outside the packs, when it is: then
        only the open question is asked, with that why."""
        questions = self._questions(slots, best, flags, routed=False, routes=routes) \
            if out_of_scope is None else [Question(slot="task", question=asking.OPEN_QUESTION,
                                                   why=out_of_scope, source="skillsrv")]
        return RouteDecision(decision=Decision.CLARIFY, routes=routes[:3], questions=questions,
                             known=slots.known(), warnings=warnings)

    def _warnings(self, text: str, query_terms: frozenset[str], slots: Slots,
                  ranked: list[Ranked]) -> list[Warning]:
        packs = {self.index.candidates[r.index].pack for r in ranked[:3]} or \
            {p.name for p in self.catalog.packs}
        warnings: list[Warning] = []
        for pack_name in sorted(packs):
            for row, source in self.index.questions.get(pack_name, PackQuestions()).recency:
                # "Transformers for tabular data" says nothing about 3k sentences.
                trend_modality = _modality_of(row.trend)
                if trend_modality and slots.modality and trend_modality != slots.modality:
                    continue
                if _trend_named(row.trend, text, query_terms) and \
                        _condition_touched(row.when_not, text, query_terms, slots):
                    warnings.append(Warning(
                        kind="recency",
                        message=f"{row.trend}: not recommended when {row.when_not.lower()}; "
                                f"consider {row.alternative}",
                        source=source))
        if ranked:
            warnings.extend(self._when_not(self.index.candidates[ranked[0].index], text,
                                           query_terms, slots))
        return warnings

    def _when_not(self, best: Candidate, text: str, query_terms: frozenset[str],
                  slots: Slots) -> list[Warning]:
        """The best sheet's own "when not to use" items that the query meets."""
        warnings = []
        for subject, condition, alternative, source in best.when_not:
            # The first clause states the condition; what follows is usually the advice.
            clause = re.split(r"[;:]|\s[—–-]\s", condition, maxsplit=1)[0]
            if _trend_named(subject, text, query_terms) and \
                    _condition_touched(clause, text, query_terms, slots):
                advice = f"; better: {alternative}" if alternative else ""
                warnings.append(Warning(kind="when-not", source=source,
                                        message=f"When not to use {subject}: "
                                                f"{clause.strip().rstrip('.')}{advice}"))
        return warnings[:3]


Correction = tuple[str, str, str | None]  # (word as typed, term read, English word meant)


def _span(wanted: frozenset[str], positions: dict[str, list[int]]) -> int:
    """The fewest consecutive query terms that hold every term of `wanted` (each has at
    least one position)."""
    places = sorted((place, term) for term in wanted for place in positions[term])
    held: dict[str, int] = {}
    shortest = len(places) + max(place for place, _ in places) + 1
    start = 0
    for place, term in places:
        held[term] = held.get(term, 0) + 1
        while len(held) == len(wanted):
            first, first_term = places[start]
            shortest = min(shortest, place - first + 1)
            held[first_term] -= 1
            if not held[first_term]:
                del held[first_term]
            start += 1
    return shortest


def _as_read(text: str, corrected: list[Correction]) -> str:
    """The query with each misspelt word replaced by the English word it was read as."""
    for word, _, spelled in corrected:
        if spelled is not None:
            text = re.sub(rf"\b{re.escape(word)}\b", spelled, text, flags=re.IGNORECASE)
    return text


def _spelling_warnings(corrected: list[Correction]) -> list[Warning]:
    notes = {word: f"'{spelled}'" if spelled else f"the packs' term '{term}'"
             for word, term, spelled in corrected}
    return [Warning(kind="input", message=f"read '{word}' as {meant}: no loaded pack has "
                                          f"'{word}', and it is one letter off")
            for word, meant in notes.items()]


def _items_by_term(items: list[EvidenceItem]) -> dict[str, tuple[int, ...]]:
    """Each term of `items` -> the positions of the items that hold it."""
    found: dict[str, list[int]] = defaultdict(list)
    for place, item in enumerate(items):
        for term in item.terms:
            found[term].append(place)
    return {term: tuple(places) for term, places in found.items()}


def most_shared_bit(masks: list[int]) -> int:
    """The bit set in the most of `masks`, the lowest of a tie (-1: none). Each bit's count
    is kept in binary across a few integers (one per binary digit), so this is a few
    operations per mask rather than one per bit."""
    digits: list[int] = []  # digits[i]: the bits whose count has 2**i set
    candidates = 0  # every bit set somewhere
    for mask in masks:
        candidates |= mask
        carry = mask
        for place, digit in enumerate(digits):
            digits[place], carry = digit ^ carry, digit & carry
            if not carry:
                break
        if carry:
            digits.append(carry)
    for digit in reversed(digits):  # the highest count's digits, most significant first
        if candidates & digit:
            candidates &= digit
    return (candidates & -candidates).bit_length() - 1


def _route_name(route: RouteCandidate) -> str:
    return f"{route.pack}/{route.sheet or route.skill}"


def _scope_message(words: list[str], packs: list[str]) -> str:
    listed = ", ".join(f'"{word}"' for word in words[:6]) + (", ..." if len(words) > 6 else "")
    named = ", ".join(packs[:3]) + (f" and {len(packs) - 3} more" if len(packs) > 3 else "")
    return (f"no loaded pack mentions any of {listed}: the question is probably outside what "
            f"they cover ({named})")


def _surface_words(text: str) -> dict[str, str]:
    """Each query term and a word the user wrote for it, to show evidence in their words."""
    found: dict[str, str] = {}
    for word in re.findall(r"[A-Za-z][A-Za-z0-9+#-]*", text):
        for term in _word_terms(word.lower()):
            found.setdefault(term, word.lower())
    return found


@lru_cache(maxsize=4096)
def _modality_of(text: str) -> str | None:
    return extract_slots(text).modality


def _flag_matches(pattern_terms: frozenset[str], query_terms: frozenset[str]) -> bool:
    if not pattern_terms:
        return False
    overlap = pattern_terms & query_terms
    return len(overlap) >= min(2, len(pattern_terms)) and \
        len(overlap) / len(pattern_terms) >= 0.6


# Static texts (flags, words) are read on every query: computed once each (`term_set` is
# cached too, and so are `questions.slot_of` and `slots_asked`).
@lru_cache(maxsize=65536)
def _word_terms(word: str) -> tuple[str, ...]:
    return tuple(terms(word))


_ACRONYM = re.compile(r"\(([^)]+)\)")


_HEAD_END = re.compile(r"\b(trained|on|for|with|from|in|at|when|and|as)\b", re.IGNORECASE)


def _trend_named(trend: str, text: str, query_terms: frozenset[str]) -> bool:
    """Does the query name this trendy architecture: by an acronym in parentheses, or by the
    words of its head ("Vision Transformer" in "Vision Transformer trained from scratch")?"""
    lower = text.lower()
    for acronym in _ACRONYM.findall(trend):
        for part in re.split(r"[,/]", acronym):
            part = part.strip().lower()
            if part and re.search(rf"\b{re.escape(part)}s?\b", lower):
                return True
    main = _ACRONYM.sub(" ", trend)
    for option in re.split(r"/|\bor\b", main):
        head = _HEAD_END.split(option, maxsplit=1)[0]
        words = term_set(head) - {"model", "general", "architecture", "other"}
        if words and words <= query_terms:
            return True
    return False


_LIMIT = re.compile(r"(<|>|under|below|over|above|fewer than|less than|more than)\s*~?\s*"
                    r"(\d+(?:\.\d+)?)\s*(k|m|b)?", re.IGNORECASE)


# A span of lengths, in figures or words: "a few hundred to a few thousand steps", "512 to 2k
# tokens". Words stand for the widest span they can mean ("a few hundred": from 100).
_AMOUNT = r"(?:(\d+(?:\.\d+)?)\s*(k|m)?|(?:a few |several |some )?(hundred|thousand|million))"
_LENGTH_SPAN = re.compile(rf"{_AMOUNT}\s*(?:to|-|–)\s*{_AMOUNT}\s*"
                          r"(?:\w+\s+)?(?:steps|tokens|timesteps|time steps|frames)\b",
                          re.IGNORECASE)
_AMOUNT_WORDS = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}


def _span_bound(figure: str | None, multiplier: str | None, word: str | None, *,
                upper: bool) -> float:
    if figure is not None:
        return float(figure) * {"k": 1e3, "m": 1e6}.get((multiplier or "").lower(), 1)
    base = _AMOUNT_WORDS[(word or "").lower()]
    return base * 10 if upper else base  # "a few thousand": up to ten thousand


def _condition_touched(when_not: str, text: str, query_terms: frozenset[str],
                       slots: Slots) -> bool:
    """Does what the query says meet the row's "when not to use" condition?"""
    span = _LENGTH_SPAN.search(when_not)
    if span and slots.sequence_length is not None:
        low = _span_bound(*span.group(1, 2, 3), upper=False)
        high = _span_bound(*span.group(4, 5, 6), upper=True)
        return low <= slots.sequence_length <= high
    limit = _LIMIT.search(when_not)
    if limit and slots.dataset_size is not None and re.search(
            r"data|image|sample|token|example|row|node|graph", when_not, re.IGNORECASE):
        bound = float(limit.group(2)) * {"k": 1e3, "m": 1e6, "b": 1e9}.get(
            (limit.group(3) or "").lower(), 1)
        below = limit.group(1).lower() in ("<", "under", "below", "fewer than", "less than")
        value = slots.dataset_size.value
        return value < bound if below else value > bound
    condition_terms = term_set(when_not) - {"need", "data", "dataset", "model"}
    if not condition_terms:
        return False
    if slots.latency is not None and condition_terms & {"realtime", "latency", "fast"}:
        return True
    if slots.deployment in ("edge", "mobile") and condition_terms & {"edge", "mobile", "power"}:
        return True
    overlap = condition_terms & query_terms
    return len(overlap) >= max(1, math.ceil(len(condition_terms) / 2))
