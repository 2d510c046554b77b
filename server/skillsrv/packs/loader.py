"""Loading pack sources found in the wild into the typed model.

A source may be a marketplace (`.claude-plugin/marketplace.json`), a Claude Code plugin
(`.claude-plugin/plugin.json` + `skills/*/SKILL.md`), a folder of skills, one skill folder, or a
folder holding any of those. Dot-folders are skipped. Nothing here raises on bad files: every
problem becomes a diagnostic with file, line and what to do, and the rest keeps loading.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillsrv.diagnostics import Diagnostic, error, warning
from skillsrv.forking import forked_pool, pool_size
from skillsrv.packs import cache as document_cache
from skillsrv.packs.extract import extract
from skillsrv.packs.frontmatter import parse_frontmatter
from skillsrv.packs.markdown import parse_markdown
from skillsrv.packs.model import (
    Catalog,
    DocKind,
    Document,
    HeadingInfo,
    Pack,
    PackKind,
    Skill,
)
from skillsrv.packs.refs import BACKTICK, LINK, RefContext

MAX_FILE_BYTES = 1024 * 1024
NAME_RULE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_SOURCE_DEPTH = 3


@dataclass(frozen=True)
class LoadOptions:
    max_file_bytes: int = MAX_FILE_BYTES


@dataclass(frozen=True)
class _Source:
    """One source being loaded: diagnostics name files as the user wrote the source path."""

    root: Path  # absolute
    display: Path  # as given (relative paths stay relative, so file:line can be opened)
    options: LoadOptions

    def show(self, path: Path) -> str:
        try:
            return (self.display / path.relative_to(self.root)).as_posix()
        except ValueError:
            return path.as_posix()


class _PackBuilder:
    """Reads the files of one pack, checking every path stays inside the pack root."""

    def __init__(self, root: Path, source: _Source, diagnostics: list[Diagnostic]) -> None:
        self.root = root
        self.real_root = root.resolve()
        self.source = source
        self.options = source.options
        self.diagnostics = diagnostics

    def rel(self, path: Path) -> str:
        """A path relative to the pack root, as documents are named."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def show(self, path: Path) -> str:
        """A path as diagnostics name it: under the source path the user gave."""
        return self.source.show(path)

    def inside(self, path: Path) -> bool:
        try:
            return path.resolve().is_relative_to(self.real_root)
        except OSError:
            return False

    def read_text(self, path: Path, *, line: int | None = None,
                  referrer: str | None = None) -> str | None:
        rel = self.show(path)
        where = referrer or rel
        if not self.inside(path):
            self.diagnostics.append(warning(where, line, "path-escapes-pack",
                                            f"{rel} points outside the pack root "
                                            f"{self.root}; refused. Keep pack files inside "
                                            "the pack folder"))
            return None
        try:
            size = path.stat().st_size
        except OSError as exc:
            self.diagnostics.append(warning(where, line, "unreadable",
                                            f"cannot read {rel}: {exc.strerror}"))
            return None
        if size > self.options.max_file_bytes:
            self.diagnostics.append(warning(rel, None, "file-too-large",
                                            f"{size:,} bytes is over the "
                                            f"{self.options.max_file_bytes:,}-byte limit; "
                                            "refused. Split it into smaller sheets"))
            return None
        try:
            raw = path.read_bytes()
        except OSError as exc:
            self.diagnostics.append(warning(where, line, "unreadable",
                                            f"cannot read {rel}: {exc.strerror}"))
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad_line = raw[: exc.start].count(b"\n") + 1
            self.diagnostics.append(warning(rel, bad_line, "not-utf8",
                                            f"byte {exc.start} is not UTF-8; refused. Save "
                                            "the file as UTF-8"))
            return None
        return text.removeprefix("\ufeff").replace("\r\n", "\n")

    def read_json(self, path: Path) -> dict[str, Any] | None:
        text = self.read_text(path)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.diagnostics.append(error(self.show(path), exc.lineno, "json-invalid",
                                          f"not valid JSON ({exc.msg} at column {exc.colno});"
                                          " fix the syntax"))
            return None
        if not isinstance(data, dict):
            self.diagnostics.append(error(self.show(path), 1, "json-invalid",
                                          "expected a JSON object at the top level"))
            return None
        return data

    # -- skills ----------------------------------------------------------------------------

    def load_skills(self, skill_dirs: list[Path]) -> list[Skill]:
        skills: list[Skill] = []
        names = {d.name for d in skill_dirs}
        for skill_dir in skill_dirs:
            try:
                skill = self.load_skill(skill_dir, names)
            except Exception as exc:  # one broken skill never takes the pack down
                self.diagnostics.append(error(self.show(skill_dir / "SKILL.md"), None,
                                              "internal-error",
                                              f"could not load this skill ({exc!r}); please "
                                              "report it with the file attached"))
                continue
            if skill is None:
                continue
            clash = next((s for s in skills if s.name == skill.name), None)
            if clash is not None:
                self.diagnostics.append(warning(
                    skill.document.path, 1, "duplicate-skill",
                    f"skill name '{skill.name}' is already used by {clash.document.path}; "
                    "refused. Give each skill of a pack a unique name"))
                continue
            skills.append(skill)
        return skills

    def load_skill(self, skill_dir: Path, skill_names: set[str]) -> Skill | None:
        skill_md = skill_dir / "SKILL.md"
        text = self.read_text(skill_md)
        if text is None:
            return None
        rel_dir = self.rel(skill_dir) if skill_dir != self.root else "."
        front = parse_frontmatter(text, self.show(skill_md))
        self.diagnostics.extend(front.diagnostics)
        name = self._check_skill_name(front.data, front.key_lines, skill_dir, self.show(skill_md))
        description = self._check_description(front.data, front.key_lines, self.show(skill_md),
                                              required=True)
        markdown_files = self._markdown_files(skill_dir)
        sheet_names = set(markdown_files) - {"SKILL.md"}
        ctx = RefContext(doc_dir="", sheet_names=sheet_names, skill_names=skill_names,
                         own_skill=name)
        document = self._document(skill_md, "SKILL.md", DocKind.SKILL, text, front, ctx)
        linked = self._linked_sheets(skill_dir, "SKILL.md", text, ctx, sheet_names)
        # Sheets linked from sheets are part of the skill too (breadth-first, in link order).
        queue = list(linked)
        order = list(linked)
        sheets: list[Document] = []
        while queue:
            file_name = queue.pop(0)
            path = skill_dir / file_name
            sheet_text = self.read_text(path)
            if sheet_text is None:
                continue
            sheet_front = parse_frontmatter(sheet_text, self.show(path))
            self.diagnostics.extend(sheet_front.diagnostics)
            sheet_ctx = RefContext(doc_dir=posixpath.dirname(file_name), sheet_names=sheet_names,
                                   skill_names=skill_names, own_skill=name)
            sheets.append(self._document(path, file_name, DocKind.SHEET, sheet_text,
                                         sheet_front, sheet_ctx))
            for more in self._linked_sheets(skill_dir, file_name, sheet_text, sheet_ctx,
                                            sheet_names):
                if more not in order:
                    order.append(more)
                    queue.append(more)
        orphans: list[Document] = []
        for file_name in sorted(sheet_names - set(order)):
            if "/" in file_name or file_name.lower() in ("readme.md", "license.md"):
                continue  # only siblings of SKILL.md are sheets-in-waiting
            path = skill_dir / file_name
            orphan_text = self.read_text(path)
            if orphan_text is None:
                continue
            self.diagnostics.append(warning(
                self.show(path), 1, "orphan-sheet",
                f"not linked from {self.show(skill_md)}; loaded as an orphan. Link it from "
                "SKILL.md (for example in a route table) or move it out of the skill folder"))
            orphan_front = parse_frontmatter(orphan_text, self.show(path))
            self.diagnostics.extend(orphan_front.diagnostics)
            orphans.append(self._document(path, file_name, DocKind.ORPHAN, orphan_text,
                                          orphan_front, ctx))
        blueprints = sorted(self.rel(p) for p in (skill_dir / "blueprints").glob("*.md")
                            if p.is_file()) if (skill_dir / "blueprints").is_dir() else []
        return Skill(name=name, description=description, path=rel_dir, document=document,
                     sheets=sheets, orphans=orphans, blueprints=blueprints)

    def _markdown_files(self, skill_dir: Path) -> list[str]:
        """Markdown files of a skill folder (relative to it), skipping dot-folders and
        blueprints (which are pack content of their own kind)."""
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(skill_dir):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                                 and not (Path(dirpath) == skill_dir and d == "blueprints"))
            for file_name in sorted(filenames):
                if file_name.endswith(".md") and not file_name.startswith("."):
                    found.append((Path(dirpath) / file_name).relative_to(skill_dir).as_posix())
        return found

    def _linked_sheets(self, skill_dir: Path, from_file: str, text: str, ctx: RefContext,
                       sheet_names: set[str]) -> list[str]:
        """Markdown files `from_file` links to (relative links, or names in backticks)."""
        found: list[str] = []
        base = posixpath.dirname(from_file)
        in_fence = False
        lines = text.split("\n")
        for number, line in enumerate(lines, start=1):
            if line.lstrip().startswith(("```", "~~~")):
                in_fence = not in_fence
                continue
            if in_fence:
                continue
            for match in LINK.finditer(line):
                target = match.group(2).split("#", 1)[0]
                if not target.endswith(".md") or "://" in target:
                    continue
                resolved = posixpath.normpath(posixpath.join(base, target))
                if resolved in sheet_names:
                    if not self.inside(skill_dir / resolved):
                        self.read_text(skill_dir / resolved, line=number,
                                       referrer=self.show(skill_dir / from_file))
                        continue
                    if resolved not in found:
                        found.append(resolved)
                elif resolved.startswith("../") or resolved == "SKILL.md":
                    continue  # another skill's file, or the router itself
                else:
                    self._broken_link(skill_dir, from_file, number, target)
            for match in BACKTICK.finditer(line):
                name = ctx.sheet(match.group(1))
                if name is not None and name != from_file and name not in found:
                    found.append(name)
        return found

    def _broken_link(self, skill_dir: Path, from_file: str, line: int, target: str) -> None:
        path = (skill_dir / posixpath.dirname(from_file) / target)
        rel_from = self.show(skill_dir / from_file)
        if path.is_symlink() or (path.exists() and not self.inside(path)):
            self.diagnostics.append(warning(rel_from, line, "path-escapes-pack",
                                            f"link to {target} leaves the pack root; refused. "
                                            "Keep linked sheets inside the pack"))
        elif not path.exists():
            self.diagnostics.append(warning(rel_from, line, "broken-link",
                                            f"link to {target} points at a file that does not "
                                            "exist; fix the link or add the file"))

    def _document(self, path: Path, file_name: str, kind: DocKind, text: str, front: Any,
                  ctx: RefContext) -> Document:
        rel = self.rel(path)
        key = document_cache.document_key(text, rel, file_name, kind.value, ctx.doc_dir,
                                          ctx.own_skill, ctx.sheet_names, ctx.skill_names)
        cached = document_cache.load(key)
        if cached is not None:
            return cached
        document = self._parse_document(rel, file_name, kind, text, front, ctx)
        document_cache.store(key, document)
        return document

    def _parse_document(self, rel: str, file_name: str, kind: DocKind, text: str, front: Any,
                        ctx: RefContext) -> Document:
        parsed = parse_markdown(front.body, front.body_line)
        description = front.data.get("description")
        return Document(
            path=rel, file_name=file_name, kind=kind, title=parsed.title,
            frontmatter=front.data, frontmatter_raw=front.raw, lenient_yaml=front.lenient,
            description=description if isinstance(description, str) else "",
            headings=[HeadingInfo(level=h.level, text=h.text, line=h.line)
                      for h in parsed.headings],
            body=front.body, body_line=front.body_line, size=len(text.encode()),
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            extracted=extract(parsed, rel, ctx))

    def _check_skill_name(self, data: dict[str, Any], lines: dict[str, int], skill_dir: Path,
                          rel: str) -> str:
        folder = skill_dir.name if skill_dir != self.root else self.root.name
        raw = data.get("name")
        if raw is None:
            self.diagnostics.append(warning(rel, 1, "name-missing",
                                            f"frontmatter has no 'name'; using the folder name "
                                            f"'{folder}'. Add name: {folder}"))
            return folder
        name = str(raw)
        line = lines.get("name", 1)
        if len(name) > MAX_NAME:
            self.diagnostics.append(warning(rel, line, "name-too-long",
                                            f"name is {len(name)} characters; Agent Skills "
                                            f"allow at most {MAX_NAME}. Shorten it"))
        if not NAME_RULE.match(name):
            self.diagnostics.append(warning(rel, line, "name-format",
                                            f"name '{name}' should use only lowercase letters, "
                                            "digits and single hyphens"))
        if name != folder:
            self.diagnostics.append(warning(rel, line, "name-folder-mismatch",
                                            f"name '{name}' differs from its folder '{folder}';"
                                            " rename one so they match"))
        return name

    def _check_description(self, data: dict[str, Any], lines: dict[str, int], rel: str, *,
                           required: bool) -> str:
        raw = data.get("description")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                self.diagnostics.append(warning(rel, 1, "description-missing",
                                                "frontmatter has no 'description'; add one that"
                                                " says what the skill does and when to use it"))
            return ""
        if not isinstance(raw, str):
            self.diagnostics.append(warning(rel, lines.get("description", 1),
                                            "description-type",
                                            "description should be a string; quote it"))
            raw = str(raw)
        if len(raw) > MAX_DESCRIPTION:
            self.diagnostics.append(warning(rel, lines.get("description", 1),
                                            "description-too-long",
                                            f"description is {len(raw)} characters; Agent "
                                            f"Skills allow at most {MAX_DESCRIPTION} (some "
                                            "clients skip longer ones). Shorten it"))
        return " ".join(raw.split())



def _skill_dirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(child for child in folder.iterdir()
                  if child.is_dir() and not child.name.startswith(".")
                  and (child / "SKILL.md").is_file())


def _str_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, str | int | float)]
    return []


# -- sources -------------------------------------------------------------------------------


def load_source(path: Path, options: LoadOptions | None = None) -> Catalog:
    """Load every pack under one source path."""
    options = options or LoadOptions()
    catalog = Catalog()
    display = Path(path)
    path = Path(os.path.abspath(path))
    if not path.exists():
        catalog.diagnostics.append(error(str(path), None, "source-missing",
                                         "pack source does not exist; check the path in "
                                         "manifest.yaml or --pack-path"))
        return catalog
    if not path.is_dir():
        if path.name == "SKILL.md":
            path, display = path.parent, display.parent
        else:
            catalog.diagnostics.append(error(str(path), None, "source-not-folder",
                                             "a pack source must be a folder (a skill, plugin, "
                                             "marketplace or folder of those)"))
            return catalog
    _load_any(path, _Source(path, display, options), catalog, depth=0)
    if not catalog.packs and not catalog.diagnostics:
        catalog.diagnostics.append(warning(str(path), None, "no-skills",
                                           "no skills found: expected SKILL.md, "
                                           ".claude-plugin/plugin.json or "
                                           ".claude-plugin/marketplace.json here or in a "
                                           "subfolder"))
    return catalog


def _load_any(path: Path, source: _Source, catalog: Catalog, depth: int) -> None:
    if (path / ".claude-plugin" / "marketplace.json").is_file():
        _load_marketplace(path, source, catalog)
    elif (path / ".claude-plugin" / "plugin.json").is_file():
        catalog.packs.append(_load_plugin(path, source, None, PackKind.PLUGIN))
    elif (path / "SKILL.md").is_file():
        catalog.packs.append(_load_skill_pack(path, source))
    elif _skill_dirs(path):
        catalog.packs.append(_load_plugin(path, source, None, PackKind.SKILL_FOLDER))
    elif depth < MAX_SOURCE_DEPTH:
        for child in sorted(path.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                _load_any(child, source, catalog, depth + 1)


def _load_plugin(root: Path, source: _Source, entry: dict[str, Any] | None,
                 kind: PackKind, marketplace: str | None = None) -> Pack:
    diagnostics: list[Diagnostic] = []
    builder = _PackBuilder(root, source, diagnostics)
    manifest_path = root / ".claude-plugin" / "plugin.json"
    meta: dict[str, Any] = {}
    if manifest_path.is_file():
        meta = builder.read_json(manifest_path) or {}
    merged = {**(entry or {}), **{k: v for k, v in meta.items() if v}}
    name = str(merged.get("name") or root.name)
    skill_dirs: list[Path] = []
    declared = meta.get("skills")
    for item in ([declared] if isinstance(declared, str) else _str_list(declared)):
        folder = root / item
        skill_dirs.extend([folder] if (folder / "SKILL.md").is_file() else _skill_dirs(folder))
    if not declared:
        skill_dirs = _skill_dirs(root / "skills") or _skill_dirs(root)
    if not skill_dirs and (root / "SKILL.md").is_file():
        skill_dirs = [root]
    pack = Pack(name=name, kind=kind, source=str(root), marketplace=marketplace,
                description=str(merged.get("description") or ""),
                version=str(merged["version"]) if merged.get("version") else None,
                keywords=_str_list(merged.get("keywords")),
                category=str(merged["category"]) if merged.get("category") else None)
    pack.skills = builder.load_skills(skill_dirs)
    if not pack.skills:
        diagnostics.append(warning(builder.show(manifest_path if meta else root), None,
                                   "no-skills", "plugin has no skills/<name>/SKILL.md; add "
                                   "at least one skill"))
    pack.diagnostics = diagnostics
    return pack


def _load_marketplace(root: Path, source: _Source, catalog: Catalog) -> None:
    diagnostics: list[Diagnostic] = []
    builder = _PackBuilder(root, source, diagnostics)
    manifest = root / ".claude-plugin" / "marketplace.json"
    rel_manifest = builder.show(manifest)
    data = builder.read_json(manifest)
    catalog.diagnostics.extend(diagnostics)
    if data is None:
        return
    market = str(data.get("name") or root.name)
    entries = data.get("plugins")
    if not isinstance(entries, list):
        catalog.diagnostics.append(error(rel_manifest, None, "marketplace-plugins",
                                         "marketplace.json needs a 'plugins' list"))
        return
    text = manifest.read_text(encoding="utf-8", errors="replace")
    jobs: list[tuple[Any, ...]] = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("name"):
            catalog.diagnostics.append(error(rel_manifest, None, "marketplace-entry",
                                             f"plugins[{position}] needs a 'name' and a "
                                             "'source'"))
            continue
        line = _json_line(text, str(entry["name"]))
        where = entry.get("source")
        if not isinstance(where, str):
            catalog.diagnostics.append(warning(rel_manifest, line, "remote-source",
                                               f"plugin '{entry['name']}' has a non-local "
                                               "source; skipped. Clone it and add the folder "
                                               "with --pack-path"))
            continue
        # Compare real paths (the source itself may sit behind a symlink) but keep the path
        # as the user gave it, so diagnostics name files where the user looks for them.
        plugin_root = Path(os.path.normpath(root / where))
        if not plugin_root.resolve().is_relative_to(root.resolve()):
            catalog.diagnostics.append(warning(rel_manifest, line, "path-escapes-pack",
                                               f"plugin '{entry['name']}' source {where} "
                                               "leaves the marketplace folder; refused"))
            continue
        if not plugin_root.is_dir():
            catalog.diagnostics.append(warning(rel_manifest, line, "missing-folder",
                                               f"plugin '{entry['name']}' source {where} does "
                                               "not exist; skipped. Fix the path or remove "
                                               "the entry"))
            continue
        listed = entry.get("skills")
        if entry.get("strict") is False and listed is not None:
            jobs.append((_load_listed_skills, plugin_root, entry, source, market, rel_manifest,
                         line, text))
        else:
            jobs.append((_load_plugin, plugin_root, source, entry, PackKind.MARKETPLACE_PLUGIN,
                         market))
    catalog.packs.extend(_run_pack_jobs(jobs))


def _load_listed_skills(plugin_root: Path, entry: dict[str, Any],
                        source: _Source, market: str, rel_manifest: str,
                        line: int | None, manifest_text: str) -> Pack:
    """The `strict: false` form: the marketplace entry lists its skill folders itself."""
    diagnostics: list[Diagnostic] = []
    builder = _PackBuilder(plugin_root, source, diagnostics)
    skill_dirs = []
    for item in _str_list(entry.get("skills")):
        folder = (plugin_root / item)
        if not (folder / "SKILL.md").is_file():
            item_line = _json_line(manifest_text, item) or line
            diagnostics.append(warning(rel_manifest, item_line, "missing-folder",
                                       f"plugin '{entry['name']}' lists skill {item}, which "
                                       "has no SKILL.md; skipped. Fix the path or remove it"))
            continue
        skill_dirs.append(folder)
    pack = Pack(name=str(entry["name"]), kind=PackKind.MARKETPLACE_PLUGIN,
                source=str(plugin_root), marketplace=market,
                description=str(entry.get("description") or ""),
                version=str(entry["version"]) if entry.get("version") else None,
                keywords=_str_list(entry.get("keywords")),
                category=str(entry["category"]) if entry.get("category") else None)
    pack.skills = builder.load_skills(skill_dirs)
    pack.diagnostics = diagnostics
    return pack


def _load_skill_pack(skill_dir: Path, source: _Source) -> Pack:
    """One skill folder on its own is a pack of one, named after the skill."""
    diagnostics: list[Diagnostic] = []
    builder = _PackBuilder(skill_dir, source, diagnostics)
    skills = builder.load_skills([skill_dir])
    name = skills[0].name if skills else skill_dir.name
    description = skills[0].description if skills else ""
    return Pack(name=name, kind=PackKind.SKILL, source=str(skill_dir), description=description,
                skills=skills, diagnostics=diagnostics)


def _json_line(text: str, value: str) -> int | None:
    """The line where a JSON string value first appears (as a name, else anywhere)."""
    index = text.find(f'"name": "{value}"')
    if index < 0:
        index = text.find(f'"{value}"')
    return text.count("\n", 0, index) + 1 if index >= 0 else None


def _pack_json(job: tuple[Any, ...]) -> str:
    function, *args = job
    return str(function(*args).model_dump_json())


def _run_pack_jobs(jobs: list[tuple[Any, ...]]) -> list[Pack]:
    """Load the packs of a marketplace, in worker processes when that pays off: parsing
    markdown is CPU-bound pure Python, so a large marketplace loads about twice as fast on two
    cores."""
    workers = pool_size(len(jobs), 8)
    if not workers:
        return [job[0](*job[1:]) for job in jobs]
    packs: list[Pack] = []
    with forked_pool(workers) as pool:
        futures = [pool.submit(_pack_json, job) for job in jobs]
        for job, future in zip(jobs, futures, strict=True):
            try:
                packs.append(Pack.model_validate_json(future.result()))
            except Exception:  # a worker that died: load that pack here instead
                packs.append(job[0](*job[1:]))
    return packs


def load_sources(paths: list[Path], options: LoadOptions | None = None) -> Catalog:
    """Load several sources into one catalog; a pack name seen twice keeps the first."""
    catalog = Catalog()
    for path in paths:
        part = load_source(path, options)
        catalog.diagnostics.extend(part.diagnostics)
        for pack in part.packs:
            existing = catalog.find_pack(pack.name)
            if existing is not None:
                catalog.diagnostics.append(warning(
                    pack.source, None, "duplicate-pack",
                    f"pack '{pack.name}' is already loaded from {existing.source}; this copy "
                    "is skipped. Remove one of the sources"))
                continue
            catalog.packs.append(pack)
    return catalog
