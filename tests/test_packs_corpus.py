"""The loader on real third-party packs: the 46-pack marketplace and anthropics/skills."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from skillsrv.packs import Catalog, load_source
from skillsrv.packs.model import RefKind

pytestmark = pytest.mark.corpus


@cache
def _load(path: Path) -> Catalog:
    return load_source(path)


def test_the_marketplace_loads_46_packs_and_every_router(skillpacks: Path) -> None:
    catalog = _load(skillpacks)
    assert len(catalog.packs) == 46
    routers = [s for p in catalog.packs for s in p.skills if s.name.startswith("using-")]
    assert len(routers) == 43
    # One router (using-sdlc-engineering) routes to sibling skills, not sheets.
    assert sum(1 for router in routers if router.sheets) == 42
    linked = sum(len(s.sheets) for p in catalog.packs for s in p.skills)
    assert linked >= 480


def test_no_router_link_is_broken_and_nothing_escapes(skillpacks: Path) -> None:
    codes = {d.code for d in _load(skillpacks).all_diagnostics()}
    assert "broken-link" not in codes and "path-escapes-pack" not in codes
    assert "internal-error" not in codes


def test_every_linked_sheet_of_a_router_is_loaded(skillpacks: Path) -> None:
    catalog = _load(skillpacks)
    pack = catalog.find_pack("yzmir-neural-architectures")
    assert pack is not None
    sheets = {s.file_name for s in pack.skills[0].sheets}
    folder = Path(pack.source) / pack.skills[0].path
    on_disk = {p.name for p in folder.glob("*.md")} - {"SKILL.md"}
    assert sheets == on_disk


def test_the_eight_sheets_with_non_strict_yaml_load_with_warnings(skillpacks: Path) -> None:
    catalog = _load(skillpacks)
    lenient = [d for d in catalog.all_diagnostics() if d.code == "frontmatter-lenient"]
    assert len(lenient) == 8
    assert all(d.line == 3 and d.path.endswith(".md") for d in lenient)
    documents = [doc for p in catalog.packs for s in p.skills for doc in s.documents()
                 if doc.lenient_yaml]
    assert len(documents) == 8
    assert all(doc.frontmatter.get("description") for doc in documents)


def test_the_test_fixture_fakes_are_not_loaded(skillpacks: Path) -> None:
    catalog = _load(skillpacks)
    names = {s.name for p in catalog.packs for s in p.skills}
    assert not {"data-things", "data-stuff"} & names
    assert all(".test-fixtures" not in s.path for p in catalog.packs for s in p.skills)


def test_anthropic_skills_load_12_skills_and_warn_about_the_missing_folder(
        anthropic_skills: Path) -> None:
    catalog = _load(anthropic_skills)
    assert sum(len(p.skills) for p in catalog.packs) == 12
    assert {p.name for p in catalog.packs} == {"example-skills", "claude-api"}
    [missing] = [d for d in catalog.all_diagnostics() if d.code == "missing-folder"]
    assert "doc-coauthoring" in missing.message and missing.line is not None


def test_routes_wrong_routes_and_red_flags_come_from_several_packs(skillpacks: Path) -> None:
    catalog = _load(skillpacks)

    def router(pack_name: str):
        pack = catalog.find_pack(pack_name)
        assert pack is not None
        return next(s for s in pack.skills if s.name.startswith("using-")).document.extracted

    neural = router("yzmir-neural-architectures")
    images = next(r for r in neural.routes if r.trigger.startswith("Images"))
    assert images.target.kind is RefKind.SHEET
    assert images.target.name == "cnn-families-and-selection.md"
    assert images.source.path.endswith("using-neural-architectures/SKILL.md")
    wrong = next(w for w in neural.wrong_routes if "won't train" in w.symptom)
    assert wrong.correct_ref is not None and wrong.correct_ref.kind is RefKind.PACK
    assert wrong.correct_ref.name == "training-optimization"
    flag = next(f for f in neural.red_flags if f.pattern.startswith("Best architecture"))
    assert "data size" in flag.ask
    vit = [r for r in neural.recency if "ViT" in r.trend]
    assert any("10k" in r.when_not for r in vit)

    training = router("yzmir-training-optimization")
    assert len(training.wrong_routes) >= 20 and len(training.red_flags) >= 20
    assert any(r.target.name == "learning-rate-scheduling.md" for r in training.routes)

    production = router("yzmir-ml-production")
    assert production.wrong_routes and production.red_flags

    pytorch = router("yzmir-pytorch-engineering")
    assert pytorch.symptoms and pytorch.wrong_routes

    python = router("axiom-python-engineering")
    assert python.wrong_routes and python.symptoms


def test_clarifying_questions_attach_to_the_route_their_section_names(
        skillpacks: Path) -> None:
    catalog = _load(skillpacks)
    pack = catalog.find_pack("yzmir-neural-architectures")
    assert pack is not None
    questions = pack.skills[0].document.extracted.questions
    sequence = [q for q in questions if q.target and q.target.name ==
                "sequence-models-comparison.md"]
    assert any(q.question == "Sequence length?" for q in sequence)
    generic = [q for q in questions if q.target is None]
    assert any("dataset" in q.question.lower() for q in generic)
