"""Routing idioms beyond tables that routers in the wild use: link lists, arrow lines, inline
symptom lines, and tables whose "When to Load" column is not the target."""

from __future__ import annotations

from pathlib import Path

from conftest import write_tree
from skillsrv.packs import load_source
from skillsrv.packs.model import Extracted

SHEETS = {f"using-ops/{name}.md": f"# {name}\n\nText.\n"
          for name in ("serving", "quantization", "monitoring", "testing")}


def _router(tmp_path: Path, body: str) -> Extracted:
    files = {**SHEETS, "using-ops/SKILL.md": "---\nname: using-ops\ndescription: \"Use when "
             "running models in production\"\n---\n# Ops\n\n" + body}
    pack = load_source(write_tree(tmp_path / "ops", files)).packs[0]
    return pack.skills[0].document.extracted


def _triggers(extracted: Extracted) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for route in extracted.routes:
        found.setdefault(route.target.name, []).append(route.trigger)
    return found


def test_a_routes_to_list_of_links_with_descriptions_routes_each_sheet(tmp_path: Path) -> None:
    extracted = _router(tmp_path, "## Routing\n\n**Routes to**:\n"
                        "- [serving.md](serving.md) - FastAPI, TorchServe, batching\n"
                        "- [quantization.md](quantization.md) - `torch.ao.quantization`, INT8\n")
    triggers = _triggers(extracted)
    assert triggers["serving.md"] == ["FastAPI, TorchServe, batching"]
    assert triggers["quantization.md"] == ["torch.ao.quantization, INT8"]  # code kept, link gone
    assert extracted.routes[0].source.line == 10  # the item's own line


def test_arrow_lines_route_their_words_to_the_sheet(tmp_path: Path) -> None:
    extracted = _router(tmp_path, "## Examples\n\n"
                        "- \"Why did p99 latency double?\" → [monitoring.md](monitoring.md)\n"
                        "- Drift alerts and dashboards -> [monitoring.md](monitoring.md)\n")
    assert _triggers(extracted)["monitoring.md"] == ["Why did p99 latency double?",
                                                     "Drift alerts and dashboards"]


def test_a_plain_list_of_sheets_routes_only_those_nothing_else_routes_to(
        tmp_path: Path) -> None:
    extracted = _router(tmp_path, "| Situation | Route To |\n|---|---|\n"
                        "| Slow endpoints under load | [serving.md](serving.md) |\n\n"
                        "## Sheets\n\n"
                        "- [serving.md](serving.md) - serving overview\n"
                        "- [testing.md](testing.md) - load tests and canaries\n")
    triggers = _triggers(extracted)
    assert triggers["serving.md"] == ["Slow endpoints under load"]  # the table, not the list
    assert triggers["testing.md"] == ["load tests and canaries"]


def test_an_item_naming_several_sheets_or_a_missing_one_is_not_a_route(tmp_path: Path) -> None:
    extracted = _router(tmp_path, "## Routing\n\n**Routes to**:\n"
                        "- [serving.md](serving.md) or [testing.md](testing.md) for rollouts\n"
                        "- `00-notes.md` findings schema -> [monitoring.md](monitoring.md)\n")
    triggers = _triggers(extracted)
    assert "serving.md" not in triggers and "testing.md" not in triggers
    assert triggers["monitoring.md"] == ["findings schema"]  # a missing sheet is no ref


def test_an_inline_symptoms_line_in_a_single_route_section_is_a_symptom_list(
        tmp_path: Path) -> None:
    extracted = _router(tmp_path, "## Model too slow\n\n"
                        "**Symptoms**: \"inference latency high\", \"reduce model size\"\n\n"
                        "**Route to**: [quantization.md](quantization.md)\n")
    assert [(s.target.name, s.phrases) for s in extracted.symptoms] == [
        ("quantization.md", ["inference latency high", "reduce model size"])]


def test_a_when_to_load_column_is_the_trigger_and_the_linked_column_the_target(
        tmp_path: Path) -> None:
    extracted = _router(tmp_path, "| Reference | When to Load |\n|---|---|\n"
                        "| [serving.md](serving.md) | Endpoints, copy-to-clipboard, batching |\n")
    assert _triggers(extracted) == {"serving.md": ["Endpoints, copy-to-clipboard, batching"]}


def test_a_table_of_questions_to_ask_is_red_flags_and_a_checklist_with_questions_is_not(
        tmp_path: Path) -> None:
    ask_first = ("## Step 1: Identify constraints\n\n**Before recommending, ask:**\n\n"
                 "| Constraint | Question | Impact |\n|---|---|---|\n"
                 "| Latency | Real-time needed? | Yes: a smaller model |\n\n")
    checklist = ("## Cost assessment\n\n| Factor | Questions | Score 1-5 |\n|---|---|---|\n"
                 "| Testing | How hard to verify the fix? | |\n\n"
                 "## Probes\n\n| Probe | Question it answers | Failure action |\n|---|---|---|\n"
                 "| Liveness | Is the process stuck? | Restart |\n\n")
    explicit = ("## Summary\n\n| User concern | Ask clarifying | Route to |\n|---|---|---|\n"
                "| Slow model | Which hardware? | serving.md |\n")
    flags = _router(tmp_path, ask_first + checklist + explicit).red_flags
    assert [(flag.pattern, flag.ask) for flag in flags] == [
        ("Latency", "Real-time needed?"), ("Slow model", "Which hardware?")]
