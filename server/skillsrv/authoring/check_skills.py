"""Checks on skills as a client first sees them: frontmatter fields and descriptions."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

from skillsrv.authoring.context import LintContext, info
from skillsrv.authoring.words import domain_terms, identity_terms, jaccard, says_when
from skillsrv.diagnostics import Diagnostic, warning

MAX_COMPATIBILITY = 500  # Agent Skills: `compatibility` is at most 500 characters
MIN_DESCRIPTION = 40  # below this a description cannot say what a skill does and when
MIN_DOMAIN_TERMS = 3  # fewer distinct domain words than this: too vague to route on
OVERLAP_THRESHOLD = 0.5  # Jaccard similarity of name + description terms within a pack
MAX_SKILL_LINES = 500  # Agent Skills: keep SKILL.md under ~500 lines; move detail to sheets


def _line(frontmatter_raw: str, key: str) -> int:
    for offset, line in enumerate(frontmatter_raw.split("\n")):
        if line.startswith(f"{key}:"):
            return offset + 2  # the frontmatter starts on file line 2
    return 1


def check_frontmatter_fields(ctx: LintContext) -> Iterator[Diagnostic]:
    """Agent Skills fields the loader does not check: compatibility and metadata."""
    for pack in ctx.catalog.packs:
        for skill in pack.skills:
            doc = skill.document
            path = ctx.show(pack, doc.path)
            compatibility = doc.frontmatter.get("compatibility")
            if isinstance(compatibility, str) and len(compatibility) > MAX_COMPATIBILITY:
                yield warning(path, _line(doc.frontmatter_raw, "compatibility"),
                              "compatibility-too-long",
                              f"compatibility is {len(compatibility)} characters; Agent Skills "
                              f"allow at most {MAX_COMPATIBILITY}. Shorten it")
            metadata = doc.frontmatter.get("metadata")
            if metadata is not None and not (isinstance(metadata, dict) and all(
                    isinstance(value, str) for value in metadata.values())):
                yield warning(path, _line(doc.frontmatter_raw, "metadata"),
                              "metadata-not-strings",
                              "metadata should map keys to strings (Agent Skills); quote the "
                              "values or move nested data into the body")


def check_skill_length(ctx: LintContext) -> Iterator[Diagnostic]:
    """SKILL.md bodies past ~500 lines defeat progressive disclosure."""
    for pack in ctx.catalog.packs:
        for skill in pack.skills:
            lines = skill.document.body.count("\n") + 1
            if lines > MAX_SKILL_LINES:
                yield warning(ctx.show(pack, skill.document.path), None, "skill-too-long",
                              f"SKILL.md body is {lines} lines; Agent Skills advise under "
                              f"{MAX_SKILL_LINES}. Move detail into sheets linked from it")


def check_descriptions(ctx: LintContext) -> Iterator[Diagnostic]:
    """Descriptions too short or too vague for a client (or the router) to choose the skill."""
    for pack in ctx.catalog.packs:
        for skill in pack.skills:
            description = skill.description
            if not description:
                continue  # the loader reports description-missing
            doc = skill.document
            path, line = ctx.show(pack, doc.path), _line(doc.frontmatter_raw, "description")
            if len(description) < MIN_DESCRIPTION:
                yield warning(path, line, "description-too-short",
                              f"description is {len(description)} characters; say what the "
                              "skill covers and when to use it in at least "
                              f"{MIN_DESCRIPTION} (\"Use when ... : covers ...\")")
            domain = domain_terms(description)
            if len(domain) < MIN_DOMAIN_TERMS:
                named = f" (only: {', '.join(sorted(domain))})" if domain else ""
                yield warning(path, line, "description-vague",
                              f"description names {len(domain)} domain terms{named}; generic "
                              "words such as 'data', 'helps', 'stuff' cannot be routed on. "
                              "Name the subjects, tools and situations the skill covers")
            if not says_when(description):
                yield info(path, line, "description-no-when",
                           "description does not say when to use the skill; start it with "
                           "\"Use when ...\" so clients know when to load it")


def check_overlap(ctx: LintContext) -> Iterator[Diagnostic]:
    """Skills of one pack whose names and descriptions share most of their terms."""
    for pack in ctx.catalog.packs:
        identities = [(skill, identity_terms(skill.name, skill.description))
                      for skill in pack.skills]
        for (first, first_terms), (second, second_terms) in combinations(identities, 2):
            similarity = jaccard(first_terms, second_terms)
            if similarity < OVERLAP_THRESHOLD:
                continue
            shared = ", ".join(sorted(first_terms & second_terms)[:8])
            doc = second.document
            yield warning(ctx.show(pack, doc.path), _line(doc.frontmatter_raw, "description"),
                          "description-overlap",
                          f"skills '{first.name}' and '{second.name}' are {similarity:.0%} alike "
                          f"by name and description (shared: {shared}); a client cannot tell "
                          "them apart. Merge them, or make each description name what only it "
                          "covers")

