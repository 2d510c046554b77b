"""Loading pack sources of every shape, and refusing bad files with a warning that says where."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conftest import write_tree
from skillsrv.packs import load_source, load_sources

ROUTER = """---
name: using-demo
description: Use when choosing a demo route
---
# Demo router

| Situation | Route To | Why |
|---|---|---|
| Images | [images.md](images.md) | pixels |
| Tables | `tables.md` | rows |
"""


def codes(catalog) -> list[str]:
    return [d.code for d in catalog.all_diagnostics()]


def test_a_single_skill_folder_is_a_pack_named_after_the_skill(tmp_path: Path) -> None:
    write_tree(tmp_path / "using-demo", {"SKILL.md": ROUTER, "images.md": "# Images\n",
                                         "tables.md": "# Tables\n"})
    catalog = load_source(tmp_path / "using-demo")
    assert [p.name for p in catalog.packs] == ["using-demo"]
    skill = catalog.packs[0].skills[0]
    assert [s.file_name for s in skill.sheets] == ["images.md", "tables.md"]
    assert catalog.all_diagnostics() == []


def test_a_folder_of_skills_is_one_pack_named_after_the_folder(tmp_path: Path) -> None:
    write_tree(tmp_path / "demo-pack", {
        "using-demo/SKILL.md": ROUTER, "using-demo/images.md": "# I\n",
        "using-demo/tables.md": "# T\n",
        "other/SKILL.md": "---\nname: other\ndescription: Use when other\n---\n# Other\n",
    })
    catalog = load_source(tmp_path / "demo-pack")
    assert [p.name for p in catalog.packs] == ["demo-pack"]
    assert sorted(s.name for s in catalog.packs[0].skills) == ["other", "using-demo"]


def test_a_plugin_takes_its_name_description_and_keywords_from_plugin_json(
        tmp_path: Path) -> None:
    write_tree(tmp_path / "plug", {
        ".claude-plugin/plugin.json": json.dumps({"name": "demo-plugin", "version": "1.2.0",
                                                 "description": "Demo things",
                                                 "keywords": ["demo", "things"]}),
        "skills/using-demo/SKILL.md": ROUTER, "skills/using-demo/images.md": "# I\n",
        "skills/using-demo/tables.md": "# T\n",
    })
    pack = load_source(tmp_path / "plug").packs[0]
    assert (pack.name, pack.version, pack.description, pack.keywords) == (
        "demo-plugin", "1.2.0", "Demo things", ["demo", "things"])
    assert pack.skills[0].name == "using-demo"


def test_a_folder_of_packs_loads_every_pack_and_skips_dot_folders(tmp_path: Path) -> None:
    skill = "---\nname: {0}\ndescription: Use when {0}\n---\n# {0}\n"
    write_tree(tmp_path, {
        "a/alpha/SKILL.md": skill.format("alpha"),
        "b/beta/SKILL.md": skill.format("beta"),
        ".hidden/gamma/SKILL.md": skill.format("gamma"),
        "a/.test-fixtures/fake/SKILL.md": skill.format("fake"),
    })
    catalog = load_source(tmp_path)
    assert sorted(p.name for p in catalog.packs) == ["a", "b"]
    assert [s.name for s in catalog.find_pack("a").skills] == ["alpha"]


def test_a_marketplace_with_a_missing_plugin_folder_warns_and_loads_the_rest(
        tmp_path: Path) -> None:
    write_tree(tmp_path, {
        ".claude-plugin/marketplace.json": json.dumps({"name": "m", "plugins": [
            {"name": "good", "source": "./plugins/good", "description": "Good one"},
            {"name": "gone", "source": "./plugins/gone"},
        ]}, indent=2),
        "plugins/good/skills/using-demo/SKILL.md": ROUTER,
        "plugins/good/skills/using-demo/images.md": "# I\n",
        "plugins/good/skills/using-demo/tables.md": "# T\n",
    })
    catalog = load_source(tmp_path)
    assert [p.name for p in catalog.packs] == ["good"]
    assert catalog.packs[0].description == "Good one"
    [missing] = [d for d in catalog.all_diagnostics() if d.code == "missing-folder"]
    assert missing.path.endswith(".claude-plugin/marketplace.json")
    assert missing.line == 10 and "gone" in missing.message


def test_two_skills_with_the_same_name_in_one_pack_keep_the_first(tmp_path: Path) -> None:
    same = "---\nname: twin\ndescription: Use when twins\n---\n# Twin\n"
    write_tree(tmp_path / "pack", {"twin/SKILL.md": same, "zwin/SKILL.md": same})
    catalog = load_source(tmp_path / "pack")
    assert [s.path for s in catalog.packs[0].skills] == ["twin"]
    [duplicate] = [d for d in catalog.all_diagnostics() if d.code == "duplicate-skill"]
    assert duplicate.path.endswith("zwin/SKILL.md") and "twin/SKILL.md" in duplicate.message


def test_files_over_the_size_limit_are_refused_with_a_warning(tmp_path: Path) -> None:
    write_tree(tmp_path / "using-demo", {
        "SKILL.md": ROUTER, "images.md": "# I\n" + "x" * (1024 * 1024 + 10),
        "tables.md": "# T\n"})
    catalog = load_source(tmp_path / "using-demo")
    assert [s.file_name for s in catalog.packs[0].skills[0].sheets] == ["tables.md"]
    [big] = [d for d in catalog.all_diagnostics() if d.code == "file-too-large"]
    assert big.path.endswith("images.md") and "limit" in big.message


def test_non_utf8_files_are_refused_with_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    write_tree(tmp_path / "using-demo", {"SKILL.md": ROUTER, "images.md": b"# I\nok\n\xff\xfe\n",
                                         "tables.md": "# T\n"})
    catalog = load_source(tmp_path / "using-demo")
    [bad] = [d for d in catalog.all_diagnostics() if d.code == "not-utf8"]
    assert bad.path.endswith("images.md") and bad.line == 3
    assert "UTF-8" in bad.message


def test_symlinks_that_leave_the_pack_root_are_refused(tmp_path: Path) -> None:
    secret = write_tree(tmp_path / "outside", {"secret.md": "# Secret\n"}) / "secret.md"
    write_tree(tmp_path / "using-demo", {"SKILL.md": ROUTER + "\n[s](secret.md)\n",
                                         "images.md": "# I\n", "tables.md": "# T\n"})
    os.symlink(secret, tmp_path / "using-demo" / "secret.md")
    catalog = load_source(tmp_path / "using-demo")
    sheets = [s.file_name for s in catalog.packs[0].skills[0].sheets]
    assert "secret.md" not in sheets
    assert "path-escapes-pack" in codes(catalog)
    assert all("Secret" not in (s.title or "") for s in catalog.packs[0].skills[0].sheets)


def test_unlinked_siblings_load_as_orphans_with_a_warning(tmp_path: Path) -> None:
    write_tree(tmp_path / "using-demo", {"SKILL.md": ROUTER, "images.md": "# I\n",
                                         "tables.md": "# T\n", "stray.md": "# Stray\n"})
    catalog = load_source(tmp_path / "using-demo")
    skill = catalog.packs[0].skills[0]
    assert [o.file_name for o in skill.orphans] == ["stray.md"]
    [orphan] = [d for d in catalog.all_diagnostics() if d.code == "orphan-sheet"]
    assert orphan.path.endswith("stray.md") and "Link it from SKILL.md" in orphan.message


def test_sheet_names_in_backticks_without_extension_are_links(tmp_path: Path) -> None:
    router = ROUTER + "\nSheets typically loaded: `dialogue`, `pacing`.\n"
    write_tree(tmp_path / "using-demo", {"SKILL.md": router, "images.md": "# I\n",
                                         "tables.md": "# T\n", "dialogue.md": "# D\n",
                                         "pacing.md": "# P\n"})
    skill = load_source(tmp_path / "using-demo").packs[0].skills[0]
    assert {"dialogue.md", "pacing.md"} <= {s.file_name for s in skill.sheets}
    assert skill.orphans == []


def test_broken_links_are_reported_with_file_and_line(tmp_path: Path) -> None:
    write_tree(tmp_path / "using-demo", {"SKILL.md": ROUTER + "\nSee [gone](gone.md).\n",
                                         "images.md": "# I\n", "tables.md": "# T\n"})
    catalog = load_source(tmp_path / "using-demo")
    [broken] = [d for d in catalog.all_diagnostics() if d.code == "broken-link"]
    assert broken.path.endswith("SKILL.md") and broken.line == 12 and "gone.md" in broken.message


def test_agent_skills_rules_give_warnings_not_failures(tmp_path: Path) -> None:
    long_description = "Use when " + "x" * 1100
    write_tree(tmp_path / "pack", {
        "Bad_Folder/SKILL.md": f"---\nname: Bad_Name\ndescription: {long_description}\n---\n#\n",
        "nameless/SKILL.md": "# No frontmatter at all\n",
    })
    catalog = load_source(tmp_path / "pack")
    names = sorted(s.name for s in catalog.packs[0].skills)
    assert names == ["Bad_Name", "nameless"]
    found = set(codes(catalog))
    assert {"name-format", "name-folder-mismatch", "description-too-long", "name-missing",
            "description-missing"} <= found
    assert all(d.severity.value == "warning" for d in catalog.all_diagnostics())


def test_frontmatter_with_unquoted_colons_loads_leniently_and_warns(tmp_path: Path) -> None:
    sheet = "---\nname: images\ndescription: Use when X: do Y\nmode: true\n---\n# Images\n"
    write_tree(tmp_path / "using-demo", {"SKILL.md": ROUTER, "images.md": sheet,
                                         "tables.md": "# T\n"})
    catalog = load_source(tmp_path / "using-demo")
    images = catalog.packs[0].skills[0].find_sheet("images.md")
    assert images is not None and images.lenient_yaml
    assert images.frontmatter == {"name": "images", "description": "Use when X: do Y",
                                  "mode": True}
    [lenient] = [d for d in catalog.all_diagnostics() if d.code == "frontmatter-lenient"]
    assert lenient.line == 3 and lenient.path.endswith("images.md")


def test_a_broken_skill_never_stops_the_others_from_loading(tmp_path: Path) -> None:
    write_tree(tmp_path / "pack", {
        "good/SKILL.md": "---\nname: good\ndescription: Use when good\n---\n# Good\n",
        "bad/SKILL.md": b"---\nname: bad\n\xff\n---\n",
        "worse/SKILL.md": "---\nname: [unclosed\ndescription: x\n---\n# Worse\n",
    })
    catalog = load_source(tmp_path / "pack")
    assert sorted(s.name for s in catalog.packs[0].skills) == ["good", "worse"]
    assert {"not-utf8", "frontmatter-invalid"} <= set(codes(catalog))


def test_a_missing_source_is_an_error_naming_the_path(tmp_path: Path) -> None:
    catalog = load_source(tmp_path / "nowhere")
    [missing] = catalog.all_diagnostics()
    assert missing.code == "source-missing" and "nowhere" in missing.path


def test_the_same_pack_from_two_sources_is_loaded_once(tmp_path: Path) -> None:
    write_tree(tmp_path / "one" / "using-demo", {"SKILL.md": ROUTER, "images.md": "#\n",
                                                 "tables.md": "#\n"})
    catalog = load_sources([tmp_path / "one" / "using-demo", tmp_path / "one" / "using-demo"])
    assert len(catalog.packs) == 1 and "duplicate-pack" in codes(catalog)


def test_blueprints_are_recorded_and_not_taken_for_orphan_sheets(tmp_path: Path) -> None:
    write_tree(tmp_path / "using-demo", {"SKILL.md": ROUTER, "images.md": "#\n",
                                         "tables.md": "#\n", "blueprints/mlp.md": "# MLP\n"})
    skill = load_source(tmp_path / "using-demo").packs[0].skills[0]
    assert skill.blueprints == ["blueprints/mlp.md"] and skill.orphans == []


def test_an_edited_file_is_parsed_again_and_a_corrupt_cache_entry_is_ignored(
        tmp_path: Path) -> None:
    from skillsrv.packs import cache

    write_tree(tmp_path / "using-demo", {"SKILL.md": ROUTER, "images.md": "# Images\n",
                                         "tables.md": "# Tables\n"})
    first = load_source(tmp_path / "using-demo").packs[0].skills[0]
    assert first.find_sheet("images.md").title == "Images"
    (tmp_path / "using-demo" / "images.md").write_text("# Pictures\n")
    second = load_source(tmp_path / "using-demo").packs[0].skills[0]
    assert second.find_sheet("images.md").title == "Pictures"
    folder = cache.cache_dir()
    assert folder is not None
    for entry in folder.glob("*.json"):
        entry.write_text("{not json")
    third = load_source(tmp_path / "using-demo").packs[0].skills[0]
    assert third.find_sheet("images.md").title == "Pictures"


def test_documents_parsed_by_other_parser_code_are_parsed_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_folder: Path) -> None:
    from skillsrv.packs import cache

    write_tree(tmp_path / "using-demo", {"SKILL.md": ROUTER, "images.md": "# Images\n",
                                         "tables.md": "# Tables\n"})
    load_source(tmp_path / "using-demo")
    load_source(tmp_path / "using-demo")
    assert len(list(cache_folder.glob("*.json"))) == 3  # parsed once, then read from the cache
    # An upgrade that changes how documents are parsed (say, a new extraction rule):
    monkeypatch.setattr(cache, "parser_digest", lambda: "other code")
    cache.cache_dir.cache_clear()  # a new process
    load_source(tmp_path / "using-demo")
    folder = cache.cache_dir()
    assert folder is not None and folder != cache_folder
    assert len(list(folder.glob("*.json"))) == 3
    assert cache_folder.is_dir()  # the other version's folder was used just now: kept


def test_cache_folders_of_other_parser_versions_unused_for_a_week_are_deleted(
        cache_folder: Path) -> None:
    from skillsrv.packs import cache

    old, recent = cache_folder.parent / "documents-v14", cache_folder.parent / "documents-v15-x"
    for folder in (old, recent):
        folder.mkdir()
        (folder / "entry.json").write_text("{}")
    long_ago = time.time() - (cache.STALE_DAYS + 1) * 86_400
    os.utime(old, (long_ago, long_ago))
    cache.cache_dir.cache_clear()
    assert cache.cache_dir() == cache_folder
    assert not old.exists() and recent.is_dir() and cache_folder.is_dir()


def test_a_marketplace_reached_through_a_symlink_loads_and_names_files_by_that_path(
        tmp_path: Path) -> None:
    real = write_tree(tmp_path / "real", {
        ".claude-plugin/marketplace.json": json.dumps({"name": "m", "plugins": [
            {"name": "all", "source": "./", "strict": False, "skills": ["./skills/using-demo"]},
        ]}),
        "skills/using-demo/SKILL.md": ROUTER, "skills/using-demo/images.md": "# I\n",
        "skills/using-demo/tables.md": "# T\n", "skills/using-demo/stray.md": "# S\n"})
    os.symlink(real, tmp_path / "link")
    catalog = load_source(tmp_path / "link")
    assert [p.name for p in catalog.packs] == ["all"]
    [orphan] = [d for d in catalog.all_diagnostics() if d.code == "orphan-sheet"]
    assert orphan.path == str(tmp_path / "link" / "skills/using-demo/stray.md")


def test_a_name_shared_by_files_in_two_folders_resolves_the_same_way_on_every_run(
        tmp_path: Path) -> None:
    import subprocess
    import sys

    write_tree(tmp_path / "using-sdk", {
        "SKILL.md": "---\nname: using-sdk\ndescription: Use for the SDKs\n---\n# SDKs\n\n"
                    "Read `tool-use.md` first.\n",
        **{f"{lang}/tool-use.md": f"# Tool use in {lang}\n" for lang in
           ("php", "ruby", "go", "java", "csharp", "python")}})
    script = ("import sys; from skillsrv.packs import load_source; "
              "skill = load_source(sys.argv[1]).packs[0].skills[0]; "
              "print([doc.file_name for doc in skill.sheets])")
    seen = set()
    for seed in ("1", "2", "3", "4"):
        environment = {**os.environ, "PYTHONHASHSEED": seed,
                       "SKILLSRV_CACHE_DIR": str(tmp_path / f"cache{seed}")}
        seen.add(subprocess.run([sys.executable, "-c", script, str(tmp_path / "using-sdk")],
                                capture_output=True, text=True, check=True,
                                env=environment).stdout)
    assert seen == {"['csharp/tool-use.md']\n"}  # the first by name, on every run
