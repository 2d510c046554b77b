"""Clarifying questions fit the packs they come from: slots and skillsrv's architecture
questions for packs about models, the packs' own questions and "which guide?" for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BUNDLED, write_tree
from skillsrv.packs import load_source, load_sources
from skillsrv.routing import Router
from skillsrv.routing import questions as asking
from skillsrv.routing.examples import Example
from skillsrv.routing.router import DEFAULT_THRESHOLDS, Thresholds


@pytest.mark.parametrize(("question", "slot"), [
    ("How much labelled data do you have?", "dataset_size"),
    ("How many training sequences, and is there a pretrained model?", "dataset_size"),
    ("How much time do you have for hyperparameter tuning?", "other"),
    ("How long have you been training?", "other"),
    ("Is the task about nodes, edges or whole graphs?", "task"),
    ("Where will the model run?", "deployment"),
    ("What compute and memory do you have for training?", "compute"),
    ("Do predictions need to be explained?", "interpretability"),
    ("What is the maximum sequence length?", "sequence_length"),
    ("Must predictions stream in real time?", "latency"),
])
def test_a_question_is_read_as_the_slot_it_really_asks_about(question: str, slot: str) -> None:
    assert asking.slot_of(question) == slot


def test_the_corpus_packs_about_models_are_told_from_the_others(skillpacks: Path) -> None:
    catalog = load_sources([BUNDLED, skillpacks])
    models = {pack.name for pack in catalog.packs if asking.about_models(pack)}
    assert {"neural-architectures", "yzmir-neural-architectures", "yzmir-training-optimization",
            "yzmir-pytorch-engineering", "yzmir-llm-specialist", "yzmir-deep-rl"} <= models
    assert not models & {"lyra-creative-writing", "axiom-web-backend", "lyra-ux-designer",
                         "axiom-sdlc-engineering", "ordis-security-architect"}


def _pack(root: Path, name: str, sheet: str, title: str, text: str,
          router_extra: str = "") -> Path:
    return write_tree(root / name, {
        f"using-{name}/SKILL.md": f"---\nname: using-{name}\ndescription: \"Use for {name}\"\n"
                                  f"---\n# {name.title()}\n\n- [{sheet}]({sheet})\n"
                                  f"{router_extra}",
        f"using-{name}/{sheet}": f"# {title}\n\n{text}\n"})


HOOKS = "How to open with a hook: the first lines decide whether a reader keeps going."
ML_GENERIC = set(asking.GENERIC_QUESTION.values())


def test_a_clarify_between_guides_of_packs_not_about_models_asks_which_one_not_about_gpus(
        tmp_path: Path) -> None:
    router = Router(load_sources([
        _pack(tmp_path, "fiction", "openings.md", "Story openings", HOOKS),
        _pack(tmp_path, "blogging", "intros.md", "Post introductions", HOOKS)]))
    decision = router.route("how do I open with a hook in the first lines?")
    assert decision.decision.value == "clarify"
    which = decision.questions[0]
    assert which.slot == "route" and which.why == asking.WHICH_WHY
    assert '"Story openings" (fiction)' in which.question
    assert '"Post introductions" (blogging)' in which.question
    assert not {q.question for q in decision.questions} & ML_GENERIC


def test_guides_of_one_title_are_named_by_their_files_in_the_which_question(
        tmp_path: Path) -> None:
    router = Router(load_sources([
        _pack(tmp_path / "a", "fiction", "openings.md", "Openings", HOOKS),
        _pack(tmp_path / "b", "stories", "openings.md", "Openings", HOOKS)]))
    decision = router.route("how do I open with a hook in the first lines?")
    asked = decision.questions[0].question
    assert "(fiction/openings.md)" in asked and "(stories/openings.md)" in asked


RELEASES = """
### Releases

**Symptoms triggering this route:**
- "our release train keeps slipping"

**Route to:** [cadence.md](cadence.md)

**Clarifying questions:**
- "Who is the target audience of the release notes?"
- "How long does a release take today?"
"""


def test_a_pack_not_about_models_keeps_its_own_questions_with_its_own_why(
        tmp_path: Path) -> None:
    router = Router(load_source(_pack(
        tmp_path, "delivery", "cadence.md", "Release cadence",
        "Release trains, freeze windows and how often to ship.", RELEASES)))
    # A GPU named in passing does not answer (or suppress) the pack's own questions.
    decision = router.route("our release train keeps slipping, and the 24GB GPU build box "
                            "is always busy")
    assert decision.routes[0].sheet == "cadence.md"
    asks = [(q.slot, q.question, q.why) for q in decision.questions]
    assert asks[:2] == [
        ("other", "Who is the target audience of the release notes?", asking.PACK_WHY),
        ("other", "How long does a release take today?", asking.PACK_WHY)]
    assert not {q for _, q, _ in asks} & ML_GENERIC


def test_a_vague_request_over_the_corpus_asks_what_the_work_is_not_about_models(
        skillpacks: Path) -> None:
    decision = Router(load_source(skillpacks)).route("can you help me make this better?")
    assert decision.decision.value == "clarify"
    assert [q.question for q in decision.questions] == [asking.OPEN_QUESTION]


def test_a_clarify_that_one_guide_leads_alone_asks_first_whether_that_guide_is_meant(
        skillpacks: Path) -> None:
    decision = Router(load_source(skillpacks)).route("the deploy keeps failing")
    assert decision.decision.value == "clarify"
    assert decision.routes[1].confidence < asking.CLOSE_SHARE * decision.routes[0].confidence
    lead = decision.questions[0]
    assert (lead.slot, lead.why, lead.source) == ("route", asking.LEAD_WHY, "skillsrv")
    assert lead.question == ('Is this about "Deployment Strategies" (axiom-devops-engineering), '
                             'or something else?')


def test_a_question_no_loaded_pack_has_a_word_of_is_called_out_of_scope_not_asked_about_data(
        ) -> None:
    decision = Router(load_source(BUNDLED)).route("How do I bake sourdough bread?")
    assert decision.decision.value == "clarify" and decision.routes == []
    [warning] = decision.warnings
    assert warning.kind == "scope"
    assert warning.message.startswith('no loaded pack mentions any of "bake", "sourdough", '
                                      '"bread"')
    assert warning.message.endswith("(neural-architectures)")
    assert [(q.question, q.why) for q in decision.questions] == [
        (asking.OPEN_QUESTION, asking.SCOPE_WHY)]


TURKEY = "How long do I roast a 6 kg turkey at 180C?"


def test_a_question_the_packs_words_touch_only_in_passing_is_clarified_as_off_subject(
        skillpacks: Path) -> None:
    router = Router(load_source(skillpacks))
    decision = router.route(TURKEY)
    assert decision.decision.value == "clarify"
    [warning] = decision.warnings
    assert warning.kind == "scope"
    # The routes are still shown: the decision says why none is taken.
    assert f"({decision.routes[0].pack}/{decision.routes[0].sheet})" in warning.message
    assert decision.routes[0].score < router.thresholds.subject_score
    assert [(q.question, q.why) for q in decision.questions] == [
        (asking.OPEN_QUESTION, asking.OFF_SUBJECT_WHY)]


def test_a_question_outside_the_pack_is_not_redirected_on_what_its_router_says_of_others(
        ) -> None:
    router = Router(load_source(BUNDLED))
    query = ("Is it worth paying off my 4.5% student loan early, or should I put the extra $500 "
             "a month into index funds?")
    decision = router.route(query)
    assert decision.decision.value == "clarify" and decision.redirect is None
    assert [w.kind for w in decision.warnings] == ["scope"]
    off = Thresholds(**{**router.thresholds.__dict__, "subject_score": 0.0})
    assert Router(load_source(BUNDLED), thresholds=off).route(query).decision.value == "redirect"


def test_off_subject_thresholds_of_zero_leave_the_decision_to_the_others(
        skillpacks: Path) -> None:
    catalog = load_source(skillpacks)
    regime = Router(catalog).regime
    off = Thresholds(**{**DEFAULT_THRESHOLDS[regime].__dict__, "subject_score": 0.0,
                        "subject_similarity": 0.0})
    decision = Router(catalog, thresholds=off).route(TURKEY)
    # The reranker alone is sure of some sheet: a relative probability, whatever the words.
    assert decision.decision.value == "route"
    assert not [w for w in decision.warnings if w.kind == "scope"]


def test_the_off_subject_gate_judges_only_when_the_best_route_has_example_questions() -> None:
    router = Router(load_source(BUNDLED))
    far = (Example("which CNN for x-rays?", "cnn.md", "evals.yaml:1", "0"), 0.05)
    weak = router.thresholds.subject_score / 2
    assert router._off_subject(weak, [far, None])
    # A best route from a pack with no evals, beside one that has some: nothing to tell by.
    assert not router._off_subject(weak, [None, far])
    assert not router._off_subject(weak, [])
    assert not router._off_subject(router.thresholds.subject_score, [far])


def test_a_question_of_stopwords_only_is_vague_not_out_of_scope() -> None:
    decision = Router(load_source(BUNDLED)).route("can you help?")
    assert decision.decision.value == "clarify" and not decision.warnings
    assert decision.questions[0].slot == "modality"


def test_a_vague_request_to_the_bundled_pack_still_asks_what_decides_an_architecture() -> None:
    decision = Router(load_source(BUNDLED)).route("help me choose")
    slots = [q.slot for q in decision.questions]
    assert decision.decision.value == "clarify"
    assert slots[:3] == ["modality", "task", "dataset_size"] and "route" not in slots
