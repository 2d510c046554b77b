"""`skillsrv pack lint` checks, one small broken pack per check, written in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BUNDLED, write_tree
from skillsrv.authoring import lint as lint_module
from skillsrv.authoring.context import LintOptions
from skillsrv.authoring.lint import CHECKS, LintResult, lint_path
from skillsrv.diagnostics import Severity

DESCRIPTION = ("Use when choosing a convolutional network for photos, scans or satellite "
               "tiles: routes backbone selection, detection and segmentation questions")

ROUTER = f"""---
name: using-demo
description: "{DESCRIPTION}"
---
# Using Demo

## Route by Situation

| Situation | Route To | Why |
|---|---|---|
| Photos and medical scans, classification | [images.md](images.md) | pretrained CNNs |
| Satellite tiles, segmentation masks | [tiles.md](tiles.md) | U-Net style models |
"""

SHEETS = {"using-demo/images.md": "# Images\n\nCNN backbones.\n",
          "using-demo/tiles.md": "# Tiles\n\nSegmentation.\n"}


def demo(tmp_path: Path, router: str = ROUTER, files: dict[str, str] | None = None) -> Path:
    """A one-skill pack folder `demo` with the router, its two sheets and `files`."""
    return write_tree(tmp_path / "demo", {"using-demo/SKILL.md": router, **SHEETS,
                                          **(files or {})})


def lint(path: Path, *, build: bool = False) -> LintResult:
    return lint_path(path, LintOptions(build_blueprints=build))


def found(result: LintResult, code: str) -> list[str]:
    """`file:line severity` of each finding with `code`, paths relative to the pack folder."""
    return [f"{d.path.split('/demo/', 1)[-1]}:{d.line} {d.severity.value}"
            for d in result.diagnostics if d.code == code]


def test_a_clean_pack_lints_with_no_findings_and_exit_zero(tmp_path: Path) -> None:
    result = lint(demo(tmp_path))
    assert result.diagnostics == []
    assert result.exit_code() == 0 and result.exit_code(strict=True) == 0
    assert result.packs == ["demo"] and result.files == 3


def test_every_check_code_is_documented_in_the_severity_policy() -> None:
    doc = lint_module.__doc__ or ""
    missing = [code for check in CHECKS for code in check.codes if code not in doc]
    assert missing == []


def test_name_rules_are_warnings_that_fail_only_with_strict(tmp_path: Path) -> None:
    router = ROUTER.replace("name: using-demo", "name: Using_Demo")
    result = lint(demo(tmp_path, router))
    assert found(result, "name-format") == ["using-demo/SKILL.md:2 warning"]
    assert found(result, "name-folder-mismatch") == ["using-demo/SKILL.md:2 warning"]
    assert result.exit_code() == 0 and result.exit_code(strict=True) == 1


def test_a_description_over_1024_characters_is_an_error(tmp_path: Path) -> None:
    router = ROUTER.replace(DESCRIPTION, DESCRIPTION + " convolution" * 90)
    result = lint(demo(tmp_path, router))
    assert found(result, "description-too-long") == ["using-demo/SKILL.md:3 error"]
    assert result.exit_code() == 1


def test_compatibility_and_metadata_follow_the_agent_skills_rules(tmp_path: Path) -> None:
    router = ROUTER.replace("---\n# Using", "compatibility: " + "x" * 501
                            + "\nmetadata:\n  level: 3\n---\n# Using")
    result = lint(demo(tmp_path, router))
    assert found(result, "compatibility-too-long") == ["using-demo/SKILL.md:4 warning"]
    assert found(result, "metadata-not-strings") == ["using-demo/SKILL.md:5 warning"]


def test_a_skill_md_over_500_lines_is_too_long(tmp_path: Path) -> None:
    result = lint(demo(tmp_path, ROUTER + "\nfiller line\n" * 260))
    assert found(result, "skill-too-long") == ["using-demo/SKILL.md:None warning"]


def test_yaml_that_only_loads_leniently_is_reported_on_its_line(tmp_path: Path) -> None:
    sheet = "---\nname: images\ndescription: Use when: pixels matter\n---\n# Images\n"
    result = lint(demo(tmp_path, files={"using-demo/images.md": sheet}))
    assert found(result, "frontmatter-lenient") == ["using-demo/images.md:3 warning"]


def test_a_broken_link_is_an_error(tmp_path: Path) -> None:
    router = ROUTER + "\nSee also [the glossary](glossary.md).\n"
    result = lint(demo(tmp_path, router))
    assert found(result, "broken-link") == ["using-demo/SKILL.md:14 error"]
    assert result.exit_code() == 1


def test_a_sheet_nothing_links_to_is_an_orphan(tmp_path: Path) -> None:
    result = lint(demo(tmp_path, files={"using-demo/stray.md": "# Stray\n"}))
    assert found(result, "orphan-sheet") == ["using-demo/stray.md:1 warning"]


def test_a_route_to_a_sheet_name_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    router = ROUTER + "| Video frames, detection | `videos.md` | temporal models |\n"
    result = lint(demo(tmp_path, router))
    assert found(result, "route-target-missing") == ["using-demo/SKILL.md:13 error"]
    assert "videos.md" in result.diagnostics[0].message


def test_file_names_in_a_column_that_routes_nowhere_are_not_taken_for_routes(
        tmp_path: Path) -> None:
    router = ROUTER + ("\n## Outputs\n\n| Step | Artifact |\n|---|---|\n"
                       "| Scope | `scope-and-context.md` |\n| Plan | `plan.md` |\n")
    assert lint(demo(tmp_path, router)).diagnostics == []


def test_a_route_into_a_loaded_pack_must_name_one_of_its_skills(tmp_path: Path) -> None:
    other = ("---\nname: using-other\ndescription: \"Use when routing other questions about "
             "recurrent networks, sequences and forecasting\"\n---\n# Other\n")
    router = ROUTER + ("| Sequences and forecasting | `vendor/other-pack/using-nothing` "
                       "| another pack |\n")
    root = tmp_path / "market"
    write_tree(root, {"demo/using-demo/SKILL.md": router,
                      **{f"demo/{k}": v for k, v in SHEETS.items()},
                      "other-pack/using-other/SKILL.md": other})
    result = lint(root)
    assert [d.code for d in result.diagnostics] == ["route-target-missing"]
    assert "has no such skill (it has using-other)" in result.diagnostics[0].message


def test_a_route_to_a_pack_not_linted_with_it_is_an_info_that_never_fails(
        tmp_path: Path) -> None:
    router = ROUTER + "| Training diverges, NaN loss | **training-optimization** | optimizer |\n"
    result = lint(demo(tmp_path, router))
    assert found(result, "pack-not-loaded") == ["using-demo/SKILL.md:13 info"]
    assert result.exit_code(strict=True) == 0


def test_a_near_miss_of_a_sheet_name_is_reported_as_a_typo(tmp_path: Path) -> None:
    router = ROUTER + "| Drone imagery | imagse | aerial |\n"
    [typo] = lint(demo(tmp_path, router)).diagnostics
    assert typo.code == "route-target-typo" and typo.line == 13
    assert "did you mean [images.md](images.md)?" in typo.message


def test_a_wrong_route_to_a_missing_sheet_is_an_error(tmp_path: Path) -> None:
    router = ROUTER + ("\n## Common Routing Mistakes\n\n"
                       "| Symptom | Wrong Route | Correct Route | Why |\n|---|---|---|---|\n"
                       "| \"Segment roads\" | [images.md](images.md) | `roads.md` | masks |\n"
                       "| \"Classify crops\" | [tiles.md](tiles.md) | [images.md](images.md) "
                       "| labels |\n")
    result = lint(demo(tmp_path, router))
    assert found(result, "route-target-missing") == ["using-demo/SKILL.md:18 error"]


def test_rows_with_a_different_cell_count_than_the_header_are_ragged(tmp_path: Path) -> None:
    router = ROUTER + ("| Video | [images.md](images.md) | frames | extra |\n"
                       "| Audio | [images.md](images.md) |\n")
    result = lint(demo(tmp_path, router))
    assert found(result, "ragged-table") == ["using-demo/SKILL.md:13 warning",
                                             "using-demo/SKILL.md:14 warning"]
    assert "4 cells but the header (line 9) has 3" in result.diagnostics[0].message


def test_text_right_under_a_table_is_reported_as_a_swallowed_row(tmp_path: Path) -> None:
    result = lint(demo(tmp_path, ROUTER + "Pick one of these.\n"))
    [ragged] = [d for d in result.diagnostics if d.code == "ragged-table"]
    assert ragged.line == 13 and "blank line" in ragged.message


def test_the_same_trigger_to_two_targets_conflicts(tmp_path: Path) -> None:
    router = ROUTER + "| Photos and medical scans, classification | [tiles.md](tiles.md) | x |\n"
    result = lint(demo(tmp_path, router))
    assert found(result, "route-conflict") == ["using-demo/SKILL.md:13 warning"]
    assert "using-demo/SKILL.md:11" in result.diagnostics[0].message


def test_the_same_trigger_to_one_target_twice_is_a_duplicate(tmp_path: Path) -> None:
    router = ROUTER + "| Photos and medical scans, classification | [images.md](images.md) | y |\n"
    assert found(lint(demo(tmp_path, router)), "route-duplicate") == [
        "using-demo/SKILL.md:13 warning"]


def test_symptom_phrases_that_route_to_two_sheets_conflict(tmp_path: Path) -> None:
    router = ROUTER + ("\n### Images\n\n**Symptoms triggering this route:**\n\n- \"classify scans\"\n"
                       "\n**Route to:** [images.md](images.md)\n"
                       "\n### Tiles\n\n**Symptoms triggering this route:**\n\n- \"classify scans\"\n"
                       "\n**Route to:** [tiles.md](tiles.md)\n")
    assert [d.code for d in lint(demo(tmp_path, router)).diagnostics] == ["route-conflict"]


def test_a_sheet_the_router_only_mentions_is_reported_where_it_is_first_named(
        tmp_path: Path) -> None:
    router = ROUTER.replace("| Satellite tiles, segmentation masks | [tiles.md](tiles.md) | U-Net "
                            "style models |\n", "") + "\nFor masks read [tiles.md](tiles.md).\n"
    assert found(lint(demo(tmp_path, router)), "sheet-unrouted") == [
        "using-demo/SKILL.md:13 warning"]
    listed = router + "\n## Routing\n\n**Routes to**:\n- [tiles.md](tiles.md) - masks, U-Net\n"
    assert found(lint(demo(tmp_path / "listed", listed)), "sheet-unrouted") == []


def test_a_route_row_without_trigger_text_is_reported(tmp_path: Path) -> None:
    router = ROUTER + "|  | [images.md](images.md) | no situation |\n"
    assert found(lint(demo(tmp_path, router)), "route-no-trigger") == [
        "using-demo/SKILL.md:13 warning"]


@pytest.mark.parametrize(("description", "codes"), [
    ("For data", ["description-no-when", "description-too-short", "description-vague"]),
    ("Use when you need help with data stuff and various other useful tasks for users",
     ["description-vague"]),
    ("Convolutional backbones for photos, medical scans and satellite tiles; detection "
     "and segmentation", ["description-no-when"]),
])
def test_descriptions_too_short_or_vague_to_route_on_are_reported(
        tmp_path: Path, description: str, codes: list[str]) -> None:
    result = lint(demo(tmp_path, ROUTER.replace(DESCRIPTION, description)))
    assert sorted(d.code for d in result.diagnostics) == codes
    severities = {d.code: d.severity for d in result.diagnostics}
    assert severities.get("description-no-when", Severity.INFO) is Severity.INFO


def test_skills_whose_descriptions_overlap_are_reported(tmp_path: Path) -> None:
    def skill(name: str, description: str) -> str:
        return f"---\nname: {name}\ndescription: \"{description}\"\n---\n# {name}\n"

    root = write_tree(tmp_path / "demo", {
        "cnn-images/SKILL.md": skill("cnn-images", "Use when picking CNN backbones for image "
                                                   "classification and detection"),
        "cnn-pictures/SKILL.md": skill("cnn-pictures", "Use when picking CNN backbones for "
                                                       "picture classification and detection"),
        "rnn-sequences/SKILL.md": skill("rnn-sequences", "Use when comparing recurrent networks "
                                                         "for forecasting time series"),
    })
    [overlap] = [d for d in lint(root).diagnostics if d.code == "description-overlap"]
    assert "'cnn-images' and 'cnn-pictures'" in overlap.message


BLUEPRINT = (BUNDLED / "neural-architectures" / "using-neural-architectures" / "blueprints"
             / "linear.md").read_text(encoding="utf-8")


def test_a_blueprint_that_does_not_parse_is_an_error(tmp_path: Path) -> None:
    result = lint(demo(tmp_path, files={"using-demo/blueprints/broken.md": "# no frontmatter\n"}))
    assert found(result, "blueprint-frontmatter") == ["using-demo/blueprints/broken.md:1 error"]
    assert result.exit_code() == 1


def test_a_blueprint_that_fails_to_build_on_the_meta_device_is_an_error(tmp_path: Path) -> None:
    sheet = BLUEPRINT.split("sheet: ", 1)[1].split("\n", 1)[0]
    broken = BLUEPRINT.replace("def build_model(config: LinearConfig) -> nn.Module:\n",
                               "def build_model(config: LinearConfig) -> nn.Module:\n"
                               "    raise ValueError('no model today')\n")
    assert broken != BLUEPRINT
    pack = demo(tmp_path, ROUTER + f"| Linear baselines | [{sheet}]({sheet}) | simple |\n",
                files={f"using-demo/{sheet}": "# Baselines\n",
                       "using-demo/blueprints/linear.md": broken})
    [failure] = lint(pack, build=True).diagnostics
    assert failure.code == "blueprint-build" and failure.severity is Severity.ERROR
    line = broken.split("\n").index("    raise ValueError('no model today')") + 1
    assert failure.path.endswith("blueprints/linear.md") and failure.line == line
    assert "ValueError: no model today" in failure.message


EVALS = """threshold: {top1: 0.9}
cases:
  - query: "which CNN backbone for medical scans and photos classification?"
    expect: images.md
  - query: "satellite tiles segmentation masks"
    expect: images.md
"""


def test_evals_below_the_threshold_are_an_error(tmp_path: Path) -> None:
    result = lint(demo(tmp_path, files={"evals.yaml": EVALS}))
    assert found(result, "evals-below-threshold") == ["evals.yaml:1 error"]
    assert "50.0% is below the pack's threshold 90.0%" in result.diagnostics[0].message


def test_evals_expecting_a_sheet_that_does_not_exist_are_reported(tmp_path: Path) -> None:
    evals = EVALS.replace("expect: images.md\n  - query: \"satellite",
                          "expect: imagez.md\n  - query: \"satellite")
    result = lint(demo(tmp_path, files={"evals.yaml": evals.replace("0.9", "0.0")}))
    assert found(result, "evals-unknown-target") == ["evals.yaml:3 warning"]


def test_an_evals_file_that_does_not_load_is_an_error(tmp_path: Path) -> None:
    result = lint(demo(tmp_path, files={"evals.yaml": "threshold: {top1: 0.9}\n"}))
    assert found(result, "evals-invalid") == ["evals.yaml:1 error"]


def test_the_bundled_pack_lints_without_errors_or_warnings() -> None:
    result = lint(BUNDLED / "neural-architectures", build=True)
    assert [d.format() for d in result.diagnostics
            if d.severity is not Severity.INFO] == []
    assert {d.code for d in result.diagnostics} <= {"pack-not-loaded"}
    assert result.files == 26
