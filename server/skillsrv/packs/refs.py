"""Finding references in markdown text: links to sheets, sheet names in backticks or bold,
other skills, and other packs (bold slugs, `faction/pack/skill` paths, "use X pack")."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from skillsrv.packs.model import Ref, RefKind

LINK = re.compile(r"!?\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
BACKTICK = re.compile(r"`([^`\n]+)`")
BOLD = re.compile(r"\*\*([^*\n]+)\*\*|__([^_\n]+)__")
SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$")
PACK_PATH = re.compile(r"(?<![\w./-])([a-z0-9]+(?:-[a-z0-9]+)*)/([a-z0-9]+(?:-[a-z0-9]+)+)"
                       r"(?:/([a-z0-9]+(?:-[a-z0-9]+)*))?(?![\w./-])")
PACK_WORD = re.compile(r"\b(?:use|see|route to|load)?\s*(?:the\s+)?\**`?/?"
                       r"([a-z0-9]+(?:-[a-z0-9]+)+)`?\**\s+(?:pack|plugin|skillpack)\b",
                       re.IGNORECASE)


_MARKERS = re.compile(r"\]\(|`|\*\*|__|/|\bpack|\bplugin", re.IGNORECASE)


@dataclass
class RefContext:
    """What a document can point at: the files of its skill and the skills of its pack."""

    doc_dir: str  # the document's folder, relative to the skill folder ("" at the top)
    sheet_names: set[str]  # markdown files of the skill, relative to the skill folder
    skill_names: set[str]
    own_skill: str
    stems: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Several files may share a stem (php/tool-use.md, ruby/tool-use.md): the shallowest,
        # then the first by name, stands for it, the same on every run (a set's order is not).
        for name in sorted(self.sheet_names, key=lambda n: (n.count("/"), n)):
            self.stems.setdefault(posixpath.basename(name).removesuffix(".md").lower(), name)

    def sheet(self, word: str) -> str | None:
        """The sheet a bare word names (`cnn-families` or `cnn-families.md`), if any."""
        word = word.strip().strip("./").lower()
        if word in self.sheet_names:
            return word
        beside = posixpath.join(self.doc_dir, word if word.endswith(".md") else f"{word}.md")
        if self.doc_dir and beside in self.sheet_names:
            return beside  # a file next to the one that names it
        return self.stems.get(word.removesuffix(".md"))


def _link_ref(target: str, ctx: RefContext) -> Ref | None:
    if "://" in target or target.startswith(("#", "mailto:")):
        return None
    path = target.split("#", 1)[0]
    if not path.endswith(".md"):
        return None
    joined = posixpath.normpath(posixpath.join(ctx.doc_dir, path))
    if joined in ctx.sheet_names:
        return Ref(kind=RefKind.SHEET, name=joined)
    parts = joined.split("/")
    # ../other-skill/SKILL.md (or a sheet of another skill) names another skill of the pack
    if len(parts) >= 3 and parts[0] == ".." and parts[1] in ctx.skill_names:
        return Ref(kind=RefKind.SKILL, name=parts[1])
    return None


def _word_ref(word: str, ctx: RefContext, *, allow_pack: bool) -> Ref | None:
    word = word.strip().strip(":,.;")
    if not word:
        return None
    sheet = ctx.sheet(word)
    if sheet is not None:
        return Ref(kind=RefKind.SHEET, name=sheet)
    # Pack and skill names are written in lowercase: "**Cross-reference:**" is a label.
    slug = word.lstrip("/").split(":", 1)[0]
    if slug in ctx.skill_names and slug != ctx.own_skill:
        return Ref(kind=RefKind.SKILL, name=slug)
    path = PACK_PATH.fullmatch(slug)
    if path:
        return _path_ref(path)
    if allow_pack and SLUG.match(slug) and slug != ctx.own_skill:
        return Ref(kind=RefKind.PACK, name=slug)
    return None


def _path_ref(match: re.Match[str]) -> Ref:
    first, second, third = match.group(1), match.group(2), match.group(3)
    if third:  # faction/pack/skill
        return Ref(kind=RefKind.PACK, name=second, skill=third)
    if second.startswith("using-"):  # pack/using-pack
        return Ref(kind=RefKind.PACK, name=first, skill=second)
    return Ref(kind=RefKind.PACK, name=second)  # faction/pack


def find_refs(text: str, ctx: RefContext, *, target_column: bool = False) -> list[Ref]:
    """References in `text`, in order, without duplicates.

    In a target column (a table's "Route To" cell) bare slugs and bold words also count as pack
    names; elsewhere only explicit forms do (links, paths, sheet names, "X pack").
    """
    found: list[Ref] = []
    if not target_column and not _MARKERS.search(text):
        return found  # no link, code span, emphasis, path or "pack" word: nothing to find

    def add(ref: Ref | None) -> None:
        if ref is not None and ref not in found:
            found.append(ref)

    for match in LINK.finditer(text):
        add(_link_ref(match.group(2), ctx))
    for match in BACKTICK.finditer(text):
        add(_word_ref(match.group(1), ctx, allow_pack=target_column))
    for match in BOLD.finditer(text):
        add(_word_ref(match.group(1) or match.group(2), ctx, allow_pack=True))
    stripped = LINK.sub(" ", BACKTICK.sub(" ", text))
    for match in PACK_PATH.finditer(stripped):
        add(_path_ref(match))
    for match in PACK_WORD.finditer(text):
        add(_word_ref(match.group(1), ctx, allow_pack=True))
    if target_column and not found:
        for word in re.split(r"[\s,;→+()]+|\bor\b|\band\b", _strip_marks(text)):
            add(_word_ref(word, ctx, allow_pack=True))
    return found


def _strip_marks(text: str) -> str:
    return re.sub(r"[*`_\[\]]", " ", text)
