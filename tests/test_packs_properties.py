"""Random markdown, YAML and frontmatter never make the loader raise: it reports instead."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skillsrv.packs import load_source
from skillsrv.packs.frontmatter import parse_frontmatter
from skillsrv.packs.markdown import parse_markdown

MARKDOWN_PIECES = st.sampled_from([
    "# Title\n", "## Section\n", "| a | b |\n", "|---|---|\n", "| [x.md](x.md) | y |\n",
    "| Symptom | Wrong Route | Correct Route | Why |\n", "| Pattern | Why | What to Ask |\n",
    "- item\n", "  - nested\n", "1. first\n", "**Symptoms triggering this route:**\n",
    "**Route to:** [x.md](x.md)\n", "```python\n", "~~~\n", "> quote\n", "`x.md`\n",
    "**training-optimization**\n", "a/b/c\n", "\n", "---\n", "<div>\n", "[broken](../../x.md)\n",
    "- \"Question?\" (hint → answer)\n", "| ragged |\n", "\t\ttab\n", "\r\n",
])
FRONTMATTER_LINES = st.sampled_from([
    "name: x\n", "name: Bad Name\n", "description: Use when a: b\n", "description: [\n",
    "description: |\n  multi\n  line\n", "- list\n", "key: {a: 1\n", "mode: true\n",
    "name:\n", ": nothing\n", "description: 'quoted: ok'\n", "\x00\n", "name: " + "a" * 80 + "\n",
])


@given(st.lists(MARKDOWN_PIECES, max_size=30), st.text(max_size=200))
@settings(max_examples=150, deadline=None)
def test_random_markdown_parses_without_raising(pieces: list[str], noise: str) -> None:
    doc = parse_markdown("".join(pieces) + noise)
    assert all(heading.line >= 1 for heading in doc.headings)


@given(st.lists(FRONTMATTER_LINES, max_size=8), st.text(max_size=100))
@settings(max_examples=150, deadline=None)
def test_random_frontmatter_parses_without_raising(lines: list[str], noise: str) -> None:
    result = parse_frontmatter("---\n" + "".join(lines) + noise + "\n---\n# Body\n", "x.md")
    assert isinstance(result.data, dict)
    assert all(d.path == "x.md" for d in result.diagnostics)


@given(
    frontmatter=st.lists(FRONTMATTER_LINES, max_size=6),
    body=st.lists(MARKDOWN_PIECES, max_size=25),
    sheet=st.one_of(st.binary(max_size=200), st.text(max_size=200)),
    skill_name=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_packs_on_disk_load_and_report(frontmatter: list[str], body: list[str],
                                              sheet: bytes | str, skill_name: str) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        skill = root / "pack" / skill_name
        skill.mkdir(parents=True)
        (skill / "SKILL.md").write_text("---\n" + "".join(frontmatter) + "---\n" + "".join(body)
                                        + "\n[x](x.md)\n", encoding="utf-8")
        data = sheet if isinstance(sheet, bytes) else sheet.encode("utf-8", "surrogatepass")
        (skill / "x.md").write_bytes(data)
        catalog = load_source(root / "pack")
        assert len(catalog.packs) == 1
        assert all(d.code != "internal-error" for d in catalog.all_diagnostics())
    finally:
        shutil.rmtree(root)
