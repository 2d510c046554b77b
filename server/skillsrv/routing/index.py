"""The routing index: every router and sheet of every loaded pack as a scored candidate.

Each candidate gathers what the packs say about it, in fields of different weight: route-table
rows and symptom lists that point at it (strongest), its title and file name, its description,
headings, the pack's description and keywords, and its body text (weakest). Scores are
BM25-style per field, precomputed per term so a query costs one dictionary walk per term (body
terms are inverted the first time a query asks for them); the body, the pack and the other
fields are kept apart because the reranker weighs them anew. Every field but the body is scored
while worker processes tokenize the bodies, so postings leave out the term's IDF (it needs the
bodies too): the lookup multiplies it in as it reads a term's postings.
Beside them: which body section each word is in, and a small index of each candidate's summary
(its description and opening paragraphs), both read only for the head of the ranking.
Wrong-route rules, "do not use" lists and cross-pack references become redirect rules, and
packs they name that are not loaded become redirect candidates of their own.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skillsrv.packs import refs as refs_code
from skillsrv.packs.cache import (
    cache_dir,
    read_pickle,
    source_digest,
    write_pickle,
    write_pickle_detached,
)
from skillsrv.packs.model import (
    Catalog,
    ClarifyingQuestion,
    Document,
    Pack,
    RecencyRow,
    RedFlag,
    Ref,
    RefKind,
    Skill,
)
from skillsrv.packs.refs import RefContext, find_refs
from skillsrv.routing import body as body_code
from skillsrv.routing import semantic
from skillsrv.routing import text as text_code
from skillsrv.routing.termcache import BodyProfiles
from skillsrv.routing.text import term_counts, terms, with_bigrams

if TYPE_CHECKING:
    from skillsrv.routing.lookup import Lookup

# Fitted by grid search on the bundled and the corpus evals together (see the notes).
FIELD_WEIGHTS = {
    "trigger": 4.5,  # route-table rows and symptom phrases that send queries here
    "description": 3.0,  # frontmatter description ("Use when ...")
    "title": 1.5,  # title, file name and skill name
    "pack": 1.5,  # the pack's description, keywords and name
    "body": 1.5,  # long bodies are length-normalised
    "use": 1.0,  # "use this skill when" items
    "headings": 0.5,
}
K1 = 1.2
B = 0.75
SUMMARY = "summary"  # the summaries' own BM25 index, as a field group of the lookups
# Which postings map each field's scores go to (everything not named here: "meta").
FIELD_GROUP = {"body": "body", "pack": "pack"}
KEEP_INDEXES = 8  # cached index files (one per catalog and code version) kept on disk


@dataclass
class EvidenceItem:
    kind: str
    text: str
    source: str
    terms: frozenset[str]


@dataclass
class Candidate:
    pack: str
    skill: str
    sheet: str | None  # None: the skill's own SKILL.md
    path: str
    redirect: str | None = None  # set for a pack that is named but not loaded
    # Term counts per field while the index is built; emptied once postings are scored.
    fields: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    evidence: list[EvidenceItem] = field(default_factory=list)
    is_router: bool = False  # a SKILL.md that routes to sheets of its own
    # Single-word body terms -> bitmask of the body sections they occur in (evidence, and how
    # much of a query one section covers), and the number of terms of each section.
    sections: dict[str, int] = field(default_factory=dict)
    section_lengths: tuple[int, ...] = ()
    # A router's sections that send readers elsewhere: left out of its section cover.
    routing_sections: int = 0
    body_length: int = 0  # from the body profile; 0: count it
    # A sheet's own "when not to use" items: (what they are about, condition, better choice,
    # file:line), e.g. ("a Transformer", "Tabular data", "Gradient-boosted trees", ...).
    when_not: list[tuple[str, str, str | None, str]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.pack, self.skill, self.sheet)


@dataclass
class RedirectRule:
    """A symptom that belongs elsewhere: a wrong-route row, or a "do not use for" item."""

    symptom_terms: frozenset[str]
    symptom: str
    target_pack: str | None  # a pack name as written (resolved later)
    target_key: tuple[str, str, str | None] | None  # a sheet or skill of a loaded pack
    wrong_key: tuple[str, str, str | None] | None
    why: str
    source: str
    strength: float  # 1.0 for wrong-route rows, lower for looser "do not use" items


@dataclass
class PackQuestions:
    generic: list[tuple[ClarifyingQuestion, str]] = field(default_factory=list)
    by_target: dict[str, list[tuple[ClarifyingQuestion, str]]] = field(
        default_factory=lambda: defaultdict(list))
    red_flags: list[tuple[RedFlag, str, frozenset[str]]] = field(default_factory=list)
    recency: list[tuple[RecencyRow, str]] = field(default_factory=list)


_WHEN_NOT_LABEL = re.compile(r"\b(when|not|to|use|using|do|don.?t|never|avoid|for|it)\b|[:*_`]",
                             re.IGNORECASE)
_ROUTING_SUBJECT = re.compile(r"\b(this|sheet|skill|pack|guide|reference)\b", re.IGNORECASE)


def _fingerprint(catalog: Catalog) -> str:
    """Everything the index depends on: pack metadata, every document's content digest, and
    the code that builds it. (The code that parsed the documents names the cache folder.)"""
    code = source_digest(sys.modules[__name__], body_code, text_code, refs_code, semantic,
                         "skillsrv.routing.lookup")
    digest = hashlib.sha256(code.encode())
    for pack in catalog.packs:
        digest.update(repr((pack.name, pack.description, pack.keywords)).encode())
        for skill in pack.skills:
            digest.update(repr((skill.name, skill.description)).encode())
            for doc in skill.documents():
                digest.update(repr((doc.path, doc.file_name, doc.kind, doc.sha256)).encode())
    return digest.hexdigest()


def _load_cached(fingerprint: str) -> dict[str, object] | None:
    folder = cache_dir()
    state = read_pickle(folder / f"index-{fingerprint}.pickle") if folder else None
    return state if isinstance(state, dict) else None


def _cache_file(fingerprint: str) -> Path | None:
    folder = cache_dir()
    return folder / f"index-{fingerprint}.pickle" if folder is not None else None


def _store_cached(fingerprint: str, index: RoutingIndex) -> bool:
    """Write the index's cache file; True when it is written as it is, body counts and all
    (no child could do it, as in a server rebuilding in a thread), so a later read is lazy
    too until `RoutingIndex.store_complete` rewrites it."""
    path = _cache_file(fingerprint)
    if path is None:
        return False
    return not write_pickle_detached(path, index._state(), keep=KEEP_INDEXES,
                                     better=index._stored_state)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """No cycle collection while the index is built or read: it allocates millions of objects
    and no cycles, and the collector's passes over the catalog cost a fifth of a rebuild.
    Afterwards they join the oldest generation unexamined (freezing and unfreezing moves them
    there at once), or the first young collection would walk every one of them (0.02 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():  # else a server froze its state: leave that frozen
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


def _document_key(pack: Pack, skill: Skill, doc: Document) -> tuple[str, str, str | None]:
    """The key of a document's candidate (no sheet: the skill's own SKILL.md)."""
    return (pack.name, skill.name, None if doc is skill.document else doc.file_name)


def _where(pack: Pack, path: str, line: int | None) -> str:
    return f"{pack.name}/{path}:{line}" if line else f"{pack.name}/{path}"


def resolve_pack(catalog: Catalog, name: str) -> Pack | None:
    """A pack named as other packs write it: exact, or without the faction prefix
    ("training-optimization" for "yzmir-training-optimization")."""
    exact = catalog.find_pack(name)
    if exact is not None:
        return exact
    suffix = [p for p in catalog.packs if p.name.endswith("-" + name)]
    if len(suffix) == 1:
        return suffix[0]
    owner = [p for p in catalog.packs if p.find_skill(name) or p.find_skill(f"using-{name}")]
    return owner[0] if len(owner) == 1 else None


def resolve_sheet(catalog: Catalog, name: str) -> tuple[str, str, str | None] | None:
    """A sheet or skill of a loaded pack that other packs name loosely, as if it were a pack:
    "unsafe-ffi" for unsafe-ffi-and-low-level.md, "confidence-building" for
    codebase-confidence-building.md. Only a unique match counts."""
    slug = name.strip("/").removesuffix(".md").lower()
    found: list[tuple[str, str, str | None]] = []
    for pack in catalog.packs:
        for skill in pack.skills:
            if skill.name == slug:
                found.append((pack.name, skill.name, None))
            for doc in skill.sheets:
                stem = doc.file_name.rsplit("/", 1)[-1].removesuffix(".md")
                if stem == slug or stem.startswith(slug + "-") or stem.endswith("-" + slug):
                    found.append((pack.name, skill.name, doc.file_name))
    return found[0] if len(found) == 1 else None


class RoutingIndex:
    """Built once per catalog; immutable afterwards (hot reload builds a new one), but for the
    body postings scored as queries first ask for their terms."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        fingerprint = _fingerprint(catalog)
        with _no_cycle_collection():
            cached = _load_cached(fingerprint)
            if cached is not None:
                self.__dict__.update(cached)
                # A file written with its body counts is lazy: worth rewriting once complete.
                self._cache_lazy = bool(self._body_counts)
                self._fingerprint = fingerprint
                return
            self._build(catalog)
        self._fingerprint = fingerprint
        self._cache_lazy = _store_cached(fingerprint, self)

    def _build(self, catalog: Catalog) -> None:
        self.candidates: list[Candidate] = []
        self.rules: list[RedirectRule] = []
        self.questions: dict[str, PackQuestions] = defaultdict(PackQuestions)
        self._by_key: dict[tuple[str, str, str | None], int] = {}
        self._redirects: dict[str, Candidate] = {}
        self._summaries: list[Counter[str]] = []
        self.postings: dict[str, dict[str, dict[int, float]]] = {
            group: {} for group in ("meta", *FIELD_GROUP.values())}
        self._body_counts: list[Mapping[str, int]] = []
        self._body_norms: list[float] = []
        self._body_lists: dict[str, list[int]] = {}
        self.summary_postings: dict[str, dict[int, float]] = {}
        # Embeddings of candidates (routing.semantic), filled as queries reach them.
        self.meaning_vectors: dict[int, tuple[Any, int]] = {}
        self.idf: dict[str, float] = {}
        self.max_idf = 1.0
        docs = [(pack, skill, doc) for pack in catalog.packs for skill in pack.skills
                for doc in skill.documents()]
        bodies = BodyProfiles()
        bodies.prepare([doc for _, _, doc in docs])
        try:
            # Everything but the bodies first, scored while workers profile the bodies: only
            # what needs the bodies is left once the last profile arrives.
            for pack in catalog.packs:
                self._add_pack(pack)
            for pack in catalog.packs:
                self._add_pack_rules(pack)
            others = self._score_fields()
            # How many candidates have each term, in the body or in another field, counted as
            # the bodies arrive; which bodies have a term is found as queries first ask for it
            # (`_body_list`): inverting every body at once was a tenth of a cold build.
            frequency: Counter[str] = Counter()
            for other in others:
                frequency.update(other)
            # In the order prepare was given the documents: each is indexed as soon as its
            # profile arrives.
            for pack, skill, doc in docs:
                self._add_body(self._by_key[_document_key(pack, skill, doc)],
                               skill.description_of(doc), bodies.profile(doc), others,
                               frequency)
            bodies.finish()
        finally:
            bodies.close()  # a build that failed stops the workers
        self._score_bodies(others, frequency)
        self._score_summaries()
        bodies.save()  # last: the child that writes them would share the CPU with the above

    # -- building ----------------------------------------------------------------------

    def _candidate(self, pack: Pack, skill: Skill, doc: Document) -> Candidate:
        sheet = None if doc.file_name == "SKILL.md" else doc.file_name
        candidate = Candidate(pack.name, skill.name, sheet, doc.path,
                              is_router=sheet is None and skill.is_router)
        self._by_key[candidate.key] = len(self.candidates)
        self.candidates.append(candidate)
        self._summaries.append(Counter())
        return candidate

    def _add(self, candidate: Candidate, field_name: str, text: str, *, kind: str | None = None,
             source: str = "", found: list[str] | tuple[str, ...] | None = None) -> None:
        if found is None:
            found = with_bigrams(terms(text))
        if not found:
            return
        candidate.fields[field_name].update(found)
        if candidate.redirect is not None and field_name != "body":
            # A pack that is not loaded has no body; what the routers say about it stands in,
            # so it competes with loaded sheets on equal terms: each thing said is a section,
            # and what they say it is for is its summary.
            candidate.fields["body"].update(found)
            bit = 1 << len(candidate.section_lengths)
            words = {term for term in found if "_" not in term}
            for word in words:
                candidate.sections[word] = candidate.sections.get(word, 0) | bit
            candidate.section_lengths = (*candidate.section_lengths, len(words))
            if field_name == "description":
                self._summaries[self._by_key[candidate.key]].update(term_counts(text))
        if kind is not None:
            candidate.evidence.append(EvidenceItem(kind, text.strip()[:160], source,
                                                   frozenset(found)))

    def _add_pack(self, pack: Pack) -> None:
        pack_text = " ".join([pack.name.replace("-", " "), pack.description,
                              " ".join(pack.keywords)])
        pack_terms = with_bigrams(terms(pack_text))  # the same for each of its documents
        for skill in pack.skills:
            router = self._candidate(pack, skill, skill.document)
            for doc in [*skill.sheets, *skill.orphans]:
                self._candidate(pack, skill, doc)
            for doc in skill.documents():
                candidate = self.candidates[self._by_key[_document_key(pack, skill, doc)]]
                self._add_document(pack, skill, doc, candidate, pack_text, pack_terms)
            self._add_router_items(pack, skill, router)

    def _add_document(self, pack: Pack, skill: Skill, doc: Document, candidate: Candidate,
                      pack_text: str, pack_terms: list[str]) -> None:
        where = _where(pack, doc.path, None)
        stem = doc.file_name.rsplit("/", 1)[-1].removesuffix(".md")
        title = doc.title or ""
        if doc is skill.document:
            title = f"{title} {skill.name.removeprefix('using-')}"
        else:
            title = f"{title} {stem}"
        self._add(candidate, "title", title.replace("-", " "), kind="title",
                  source=_where(pack, doc.path, doc.body_line))
        description = skill.description_of(doc)
        line = 1 if doc.frontmatter_raw else None
        self._add(candidate, "description", description, kind="description",
                  source=_where(pack, doc.path, line))
        # All of a document's headings at once (`_add` for each was a tenth of this part of
        # the build): a loaded document is no redirect, so nothing else is due.
        heading_terms = body_code.heading_terms(heading.text for heading in doc.headings)
        candidate.fields["headings"].update(itertools.chain.from_iterable(heading_terms))
        candidate.evidence.extend(
            EvidenceItem("heading", heading.text.strip()[:160],
                         _where(pack, doc.path, heading.line), frozenset(found))
            for heading, found in zip(doc.headings, heading_terms, strict=True) if found)
        self._add(candidate, "pack", pack_text, kind="keyword" if pack.keywords else None,
                  source=where, found=pack_terms)
        for item in doc.extracted.use_when:
            self._add(candidate, "use", item.text, kind="use-when",
                      source=_where(pack, item.source.path, item.source.line))
        if doc is not skill.document:  # a router's "do not use" items are redirect rules
            for item in doc.extracted.do_not_use:
                subject = _WHEN_NOT_LABEL.sub(" ", item.label).strip(" :-")
                # "When Not to Use This Sheet" and "Do not use for:" are routing advice.
                if subject and not _ROUTING_SUBJECT.search(subject):
                    candidate.when_not.append((
                        subject, item.text, item.alternative,
                        _where(pack, item.source.path, item.source.line)))

    def _target_key(self, pack: Pack, skill: Skill, ref: Ref) -> tuple[str, str, str | None]:
        if ref.kind is RefKind.SHEET:
            return (pack.name, skill.name, ref.name)
        if ref.kind is RefKind.SKILL:
            return (pack.name, ref.name, None)
        return ("", "", None)

    def _add_router_items(self, pack: Pack, skill: Skill, router: Candidate) -> None:
        for doc in skill.documents():
            items = doc.extracted
            for route in items.routes:
                key = self._target_key(pack, skill, route.target)
                index = self._by_key.get(key)
                if index is None:
                    continue
                weight_text = route.trigger if route.primary else route.trigger[:60]
                self._add(self.candidates[index], "trigger", weight_text, kind="route-row",
                          source=_where(pack, route.source.path, route.source.line))
            for symptoms in items.symptoms:
                index = self._by_key.get(self._target_key(pack, skill, symptoms.target))
                if index is None:
                    continue
                for phrase in symptoms.phrases:
                    self._add(self.candidates[index], "trigger", phrase, kind="symptom",
                              source=_where(pack, symptoms.source.path, symptoms.source.line))
            questions = self.questions[pack.name]
            for question in items.questions:
                entry = (question, _where(pack, question.source.path, question.source.line))
                if question.target is not None and question.target.kind is RefKind.SHEET:
                    questions.by_target[question.target.name].append(entry)
                elif doc is not skill.document:
                    questions.by_target[doc.file_name].append(entry)  # a sheet's own questions
                else:
                    questions.generic.append(entry)
            for flag in items.red_flags:
                questions.red_flags.append((flag, _where(pack, flag.source.path,
                                                         flag.source.line),
                                            frozenset(terms(flag.pattern))))
            for row in items.recency:
                questions.recency.append((row, _where(pack, row.source.path, row.source.line)))

    def _add_pack_rules(self, pack: Pack) -> None:
        # Only a skill's own SKILL.md states routing rules: tables of "wrong / correct" in
        # sheets are usually examples of the sheet's subject, not routing advice.
        for skill in pack.skills:
            for doc in (skill.document,):
                items = doc.extracted
                for rule in items.wrong_routes:
                    if rule.correct_ref is None:
                        continue
                    self._add_rule(pack, skill, rule.symptom, rule.correct_ref,
                                   rule.wrong_ref, rule.why or rule.correct,
                                   _where(pack, rule.source.path, rule.source.line), 1.0)
                for item in items.do_not_use:
                    refs = find_refs(item.text, RefContext("", set(), set(), skill.name))
                    for ref in refs[:1]:
                        self._add_rule(pack, skill, item.text, ref, None, item.text,
                                       _where(pack, item.source.path, item.source.line), 0.6)
                for symptoms in items.symptoms:
                    if symptoms.target.kind is RefKind.PACK:
                        self._add_pack_symptoms(pack, symptoms.target.name, symptoms.phrases,
                                                _where(pack, symptoms.source.path,
                                                       symptoms.source.line))
                for cross in items.cross_refs:
                    if resolve_pack(self.catalog, cross.pack) is None:
                        redirect = self._redirect_candidate(cross.pack)
                        self._add(redirect, "description", cross.text, kind="description",
                                  source=_where(pack, cross.source.path, cross.source.line))

    def _add_pack_symptoms(self, pack: Pack, name: str, phrases: list[str],
                           source: str) -> None:
        """Symptoms a router sends to another pack: they describe that pack's router, or
        stand for the pack itself when it is not loaded."""
        target = resolve_pack(self.catalog, name)
        if target is not None:
            if target.name == pack.name or not target.skills:
                return
            router = target.router or target.skills[0]
            candidate = self.candidate((target.name, router.name, None))
        elif resolve_sheet(self.catalog, name) is not None:
            return  # a loaded sheet named loosely, not a pack (see _add_rule)
        else:
            candidate = self._redirect_candidate(name)
        if candidate is None:
            return
        for phrase in phrases:
            self._add(candidate, "trigger", phrase, kind="symptom", source=source)

    def _redirect_candidate(self, name: str) -> Candidate:
        existing = self._redirects.get(name)
        if existing is not None:
            return existing
        candidate = Candidate(name, "", None, "", redirect=name)
        self._by_key[candidate.key] = len(self.candidates)
        self.candidates.append(candidate)
        self._summaries.append(Counter())
        self._redirects[name] = candidate
        self._add(candidate, "title", name.replace("-", " "))
        return candidate

    def _add_rule(self, pack: Pack, skill: Skill, symptom: str, correct: Ref,
                  wrong: Ref | None, why: str, source: str, strength: float) -> None:
        symptom_terms = frozenset(terms(symptom))
        if not symptom_terms:
            return
        target_key: tuple[str, str, str | None] | None = None
        target_pack: str | None = None
        if correct.kind is RefKind.PACK:
            resolved = resolve_pack(self.catalog, correct.name)
            sheet = resolve_sheet(self.catalog, correct.name) if resolved is None else None
            if sheet is not None and sheet in self._by_key:
                # A loaded sheet named loosely: not a redirect to a pack that does not exist,
                # and not a rule either (measured: as a rule it misroutes more than it fixes).
                return
            if resolved is None:
                target_pack = correct.name
                redirect = self._redirect_candidate(correct.name)
                self._add(redirect, "trigger", symptom, kind="wrong-route", source=source)
                if why and why != symptom:
                    self._add(redirect, "description", why)
            elif resolved.name != pack.name:
                target_pack = resolved.name
        else:
            target_key = self._target_key(pack, skill, correct)
            if target_key not in self._by_key:
                return
            self._add(self.candidates[self._by_key[target_key]], "trigger", symptom,
                      kind="wrong-route", source=source)
        wrong_key = self._target_key(pack, skill, wrong) if wrong is not None else None
        if target_key is None and target_pack is None:
            return
        self.rules.append(RedirectRule(symptom_terms, symptom, target_pack, target_key,
                                       wrong_key, why, source, strength))

    def _score_fields(self) -> list[set[str]]:
        """Precompute each term's BM25F contribution to each candidate from every field but
        the body, before the bodies arrive. Postings hold the contributions without the term's
        IDF, which needs the bodies too: the lookup weighs each term's postings by it
        (`term_weight`) as queries first ask. Returns, per candidate, the terms of its other
        fields (the bodies' document frequencies are counted apart from them)."""
        count = len(self.candidates)
        self.max_idf = math.log(1 + (count - 1 + 0.5) / 1.5) if count > 1 else 1.0
        if count == 0:
            return []  # the postings stay as `_build` made them: empty
        lengths = [{name: sum(counts.values()) for name, counts in candidate.fields.items()
                    if name != "body"} for candidate in self.candidates]
        averages = {name: max(1.0, sum(length.get(name, 0) for length in lengths) / count)
                    for name in FIELD_WEIGHTS if name != "body"}
        postings: dict[str, dict[str, dict[int, float]]] = {
            group: defaultdict(dict) for group in {"meta", *FIELD_GROUP.values()}
            if group != "body"}
        others: list[set[str]] = []
        for index, candidate in enumerate(self.candidates):
            # The hot loops stay free of attribute and global lookups; a field that is a group
            # of its own (pack) goes straight to its postings.
            meta: dict[str, float] = {}
            fields = [(name, counts) for name, counts in candidate.fields.items()
                      if name != "body"]
            others.append(set().union(*(counts.keys() for _, counts in fields)))
            for name, counts in fields:
                norm = K1 * (1 - B + B * lengths[index][name] / averages[name])
                scale = FIELD_WEIGHTS[name] * (K1 + 1)
                group_name = FIELD_GROUP.get(name, "meta")
                if group_name != "meta":
                    target = postings[group_name]
                    for term, tf in counts.items():
                        target[term][index] = scale * tf / (tf + norm)
                    continue
                get = meta.get
                for term, tf in counts.items():
                    meta[term] = get(term, 0.0) + scale * tf / (tf + norm)
            target = postings["meta"]
            for term, value in meta.items():
                target[term][index] = value
            # Only the body counts are read from now on; dropping the others keeps the index
            # and its cache file small.
            body = candidate.fields.get("body")
            candidate.fields = {"body": body} if body is not None else {}
        self.postings = {group: dict(terms) for group, terms in postings.items()}
        self.postings["body"] = {}  # filled term by term as queries ask
        return others

    def _add_body(self, index: int, description: str, profile: body_code.BodyProfile,
                  others: list[set[str]], frequency: Counter[str]) -> None:
        """A loaded document's body, as its profile arrives: its counts, sections and summary,
        and the document frequencies of the body terms its other fields do not have."""
        candidate = self.candidates[index]
        frequency.update(profile.counts.keys() - others[index])
        # Shared with the profile cache, not copied (0.05 s over the corpus): nothing adds to
        # a loaded document's body field, and the counts are only read.
        candidate.fields["body"] = profile.counts
        candidate.body_length = profile.length
        candidate.sections = profile.sections
        candidate.section_lengths = profile.section_lengths
        if candidate.is_router:
            candidate.routing_sections = profile.routing_sections
        self._summaries[index] = term_counts(f"{description} {profile.intro}")

    def _score_bodies(self, others: list[set[str]], document_frequency: Counter[str]) -> None:
        """The terms' IDFs, once every body is in, and what scoring a body posting needs
        (see `_body_postings`). `document_frequency` counts the loaded documents' bodies."""
        count = len(self.candidates)
        if count == 0:
            return
        empty: Counter[str] = Counter()
        for candidate, other in zip(self.candidates, others, strict=True):
            if candidate.redirect is not None:  # what routers say stands in for its body
                document_frequency.update(candidate.fields.get("body", empty).keys() - other)
        # A term's IDF depends only on its document frequency, and a catalog has a few hundred
        # distinct frequencies for 180k terms: one logarithm per frequency.
        idf_of = {df: math.log(1 + (count - df + 0.5) / (df + 0.5))
                  for df in set(document_frequency.values())}
        self.idf = {term: idf_of[df] for term, df in document_frequency.items()}
        lengths = [candidate.body_length or sum(candidate.fields.get("body", empty).values())
                   for candidate in self.candidates]
        average = max(1.0, sum(lengths) / count)
        self._body_counts = [candidate.fields.get("body", empty)
                             for candidate in self.candidates]
        self._body_norms = [K1 * (1 - B + B * length / average) for length in lengths]
        sections = [n for candidate in self.candidates for n in candidate.section_lengths]
        self.average_section_length = (max(1.0, sum(sections) / len(sections)) if sections
                                       else 1.0)
        for candidate in self.candidates:
            candidate.fields = {}

    def term_weight(self, term: str) -> float:
        """What a term's postings are multiplied by: its IDF, divided by the largest possible
        IDF, so scores are in units of "one rare term matched in a strong field" and thresholds
        mean the same for 3 sheets or 1,000."""
        return self.idf.get(term, 0.0) / self.max_idf

    def _body_postings(self, query_terms: Iterable[str]) -> None:
        """Score the body postings of the query's terms not yet scored.

        Bodies hold most of the index's 600k postings, and scoring them all was a third of a
        rebuild; a query needs a dozen terms, each scored once, for the candidates whose body
        has it. Concurrent queries may score a term twice; both get the same values.
        """
        body = self.postings["body"]
        norms = self._body_norms
        counts = self._body_counts
        for term in query_terms:
            if term in body:
                continue
            having = self._body_list(term)
            if not having:
                continue
            weight = FIELD_WEIGHTS["body"] * (K1 + 1)  # the lookup weighs it by the IDF
            found: dict[int, float] = {}
            for index in having:
                tf = counts[index][term]
                found[index] = weight * tf / (tf + norms[index])
            body[term] = found

    def _body_list(self, term: str) -> list[int]:
        """The candidates whose body has `term` (none once the body counts are dropped, as in
        a cached index, whose body postings are all scored). Concurrent queries may find a
        term's list twice; both find the same."""
        found = self._body_lists.get(term)
        if found is None:
            if not self._body_counts or term not in self.idf:
                return []  # kept for the index's own terms only, so memory stays bounded
            found = [index for index, counts in enumerate(self._body_counts) if term in counts]
            self._body_lists[term] = found
        return found

    def _all_body_lists(self) -> None:
        """Every body term's list at once (for a cache file, which scores them all)."""
        lists: defaultdict[str, list[int]] = defaultdict(list)
        for index, counts in enumerate(self._body_counts):
            for term in counts:
                lists[term].append(index)
        self._body_lists = dict(lists)

    def complete(self) -> bool:
        """Score every body posting and index every word's sections now, as a cache file
        has them (queries otherwise do it term by term as they first ask). Thread-safe:
        concurrent queries find the same values, whichever of them scores a term. True when
        there was anything to do."""
        if not self._body_counts or "section_words" in self.__dict__:
            return False  # read complete from a cache file, or completed already
        from skillsrv.routing import lookup

        self._all_body_lists()
        # A snapshot: a query meanwhile adds the (empty) lists of terms no body has.
        self._body_postings(list(self._body_lists))
        words = lookup.section_index(self.candidates)
        self.section_words = words
        made: Lookup | None = self.__dict__.get("_lookup")
        if made is not None:
            made.use_section_index(words)
        return True

    def store_complete(self) -> None:
        """Rewrite the cache file complete if it was written lazy (see `_store_cached`), so
        the next process reads every posting and embedding; call once the candidates are
        embedded. Only a server completing its index in the background has the time."""
        path = _cache_file(self._fingerprint) if self._cache_lazy else None
        if path is None:
            return
        write_pickle(path, self._stored_state())
        self._cache_lazy = False

    def _state(self) -> dict[str, object]:
        """Everything a cache file keeps: the index without its catalog. (Copied at once: a
        query in another thread may add an attribute, such as the lookup, meanwhile.)"""
        return {name: value for name, value in dict(self.__dict__).items()
                if name not in ("catalog", "_lookup", "_cache_lazy", "_fingerprint")}

    def _stored_state(self) -> dict[str, object]:
        """The cache file's state once every body posting is scored and every candidate
        embedded: complete when read back, and without the counts it was scored from."""
        self.complete()
        # Without the model (or its files) the candidates are embedded as queries need them.
        with contextlib.suppress(ImportError, OSError, ValueError):
            semantic.Meaning(self.catalog, self.candidates, self.meaning_vectors).embed_all()
        return {**self._state(), "_body_counts": [], "_body_norms": [], "_body_lists": {}}

    def _score_summaries(self) -> None:
        """A plain BM25 index of each candidate's summary: its description and opening
        paragraphs, what the document says it is about."""
        count = len(self._summaries)
        df = Counter(itertools.chain.from_iterable(self._summaries))
        lengths = [sum(counts.values()) for counts in self._summaries]
        average = max(1.0, sum(lengths) / max(1, count))
        idf_of = {n: math.log(1 + (count - n + 0.5) / (n + 0.5)) for n in set(df.values())}
        postings: dict[str, dict[int, float]] = defaultdict(dict)
        for index, counts in enumerate(self._summaries):
            norm = K1 * (1 - B + B * lengths[index] / average)
            for term, tf in counts.items():
                postings[term][index] = idf_of[df[term]] * (K1 + 1) * tf / (tf + norm)
        self.summary_postings = dict(postings)
        del self._summaries

    # -- lookups ---------------------------------------------------------------------------

    def candidate(self, key: tuple[str, str, str | None]) -> Candidate | None:
        index = self._by_key.get(key)
        return self.candidates[index] if index is not None else None

    def index_of(self, key: tuple[str, str, str | None]) -> int | None:
        return self._by_key.get(key)

    def score(self, query_terms: frozenset[str]) -> Any:
        """Each candidate's BM25F score for the query, as an array (0.0: no term matched)."""
        self._body_postings(query_terms)
        return self.lookup().scores(query_terms)

    def section_cover(self, head: list[int], weighted: list[tuple[str, float]]) -> list[float]:
        """For each head candidate, the weight of the query's words that its best body section
        holds, with a mild penalty for long sections (see `Lookup.section_cover`)."""
        return self.lookup().section_cover(head, weighted)

    def lookup(self) -> Lookup:
        """The array views the per-query sums use, made on first use (not written to the
        cache file, and numpy is imported only once a query needs it)."""
        found: Lookup | None = self.__dict__.get("_lookup")
        if found is None:
            from skillsrv.routing.lookup import Lookup

            found = Lookup(self.candidates, {**self.postings, SUMMARY: self.summary_postings},
                           tuple(self.postings), self.average_section_length,
                           self._body_list, self.__dict__.get("section_words"),
                           self.term_weight)
            self._lookup = found
        return found

    def score_of(self, query_terms: frozenset[str], candidates: list[int],
                 groups: tuple[str, ...] | None = None) -> list[float]:
        """The BM25F scores of a few candidates, from some field groups only."""
        self._body_postings(query_terms)
        found: list[float] = self.lookup().scores(query_terms, groups)[candidates].tolist()
        return found

    def summary_score(self, query_terms: frozenset[str], candidates: list[int]) -> list[float]:
        """The BM25 scores of a few candidates' summaries (see `_score_summaries`)."""
        found: list[float] = self.lookup().scores(query_terms, (SUMMARY,))[candidates].tolist()
        return found
