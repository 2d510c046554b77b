"""What routing keeps of a document body: its sections, which words each holds, and its
opening paragraphs."""

from __future__ import annotations

import uuid
from pathlib import Path

from conftest import write_tree
from skillsrv.packs import load_source
from skillsrv.packs.model import DocKind, Document
from skillsrv.routing.body import intro, profile, split_sections
from skillsrv.routing.text import term_counts

SHEET = """# Profiling

Measure before you optimise: most slow code is slow somewhere you did not expect.
A profiler tells you where.

| Tool | Use |
|---|---|
| cProfile | CPU time |

## Memory leaks

```python
# a comment, not a heading
tracemalloc.start()
```

Snapshots of the heap, compared over time, show what keeps growing.

## Flame graphs

py-spy records a running process without restarting it.
"""


def test_a_body_is_cut_at_its_parsed_headings_and_not_at_comments_in_code(
        tmp_path: Path) -> None:
    source = write_tree(tmp_path / "perf", {"using-perf/SKILL.md": "---\nname: using-perf\n"
                                            "description: \"Use for speed\"\n---\n# Perf\n\n"
                                            "- [profiling.md](profiling.md)\n",
                                            "using-perf/profiling.md": SHEET})
    doc = load_source(source).packs[0].skills[0].sheets[0]
    lines = [heading.line - doc.body_line for heading in doc.headings]
    sections = split_sections(doc.body, lines)
    assert [s.splitlines()[0] for s in sections] == ["# Profiling", "## Memory leaks",
                                                     "## Flame graphs"]
    assert "# a comment, not a heading" in sections[1]


def test_each_word_remembers_the_sections_it_occurs_in() -> None:
    lines = [i for i, line in enumerate(SHEET.split("\n")) if line.startswith("## ")]
    found = profile(SHEET, lines)
    assert len(found.section_lengths) == 3
    assert found.sections["tracemalloc"] == 0b010
    assert found.sections["process"] == 0b100
    assert found.sections["slow"] == 0b001
    assert found.sections["profil"] == 0b001  # "Profiling" and "profiler", one section


def test_the_profile_counts_what_term_counts_counts_for_a_body_without_headings() -> None:
    body = "Time series forecasting. " * 2 + "We hit OOM twice: oom again, then room."
    assert profile(body, []).counts == term_counts(body)


def test_the_intro_is_the_opening_prose_without_headings_tables_or_code() -> None:
    text = intro(SHEET)
    assert text.startswith("Measure before you optimise")
    assert "A profiler tells you where." in text
    assert "cProfile" not in text and "#" not in text
    assert intro("# Title\n\n```\ncode only\n```\n") == ""
    assert len(intro("word " * 1000)) == 600


def test_many_documents_are_profiled_in_worker_processes_with_the_same_result() -> None:
    from skillsrv.packs.model import DocKind, Document, HeadingInfo
    from skillsrv.routing.termcache import MIN_FORKED, BodyProfiles

    docs = [Document(path=f"skills/s/{n}.md", file_name=f"{n}.md", kind=DocKind.SHEET,
                     body=f"# Sheet {n}\n\nWords about topic {n}.\n\n## Part\n\nMore {n}.\n",
                     headings=[HeadingInfo(level=1, text=f"Sheet {n}", line=1),
                               HeadingInfo(level=2, text="Part", line=5)],
                     sha256=f"test-{uuid.uuid4().hex}") for n in range(MIN_FORKED + 6)]
    profiles = BodyProfiles()
    profiles.prepare(docs)
    for doc in docs:
        assert profiles.profile(doc) == profile(doc.body, [0, 4])


def test_profiles_asked_for_out_of_order_while_workers_stream_them_are_all_right() -> None:
    from skillsrv.routing.termcache import MIN_FORKED, BodyProfiles

    docs = [Document(path=f"skills/s/{n}.md", file_name=f"{n}.md", kind=DocKind.SHEET,
                     body=f"Words about topic {n} and subject {n * 3}.\n",
                     sha256=f"test-{uuid.uuid4().hex}") for n in range(MIN_FORKED * 2)]
    profiles = BodyProfiles()
    profiles.prepare(docs)
    asked = docs[-1:] + docs[:3]  # the last first: every other profile is kept as it arrives
    for doc in asked:
        assert profiles.profile(doc) == profile(doc.body, [])
    profiles.finish()  # the rest arrive; none is profiled twice
    assert profiles._added == len(docs)
    for doc in docs[3:-1]:
        assert profiles.profile(doc) == profile(doc.body, [])
    assert profiles._added == len(docs)
