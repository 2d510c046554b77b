"""`skillsrv pack build PATH --out DIR`: a distributable Claude Code plugin from a pack.

OUT receives:
- `OUT/NAME/`: the plugin (`.claude-plugin/plugin.json`, `skills/<skill>/...` with sheets,
  blueprints and any other skill files, plus `commands/`, `agents/`, `hooks/`, `evals.yaml`,
  README and licence files found at the pack root) and `SHA256SUMS`, the sha256 digest of
  every other file of the plugin (`sha256sum -c SHA256SUMS` checks them from inside NAME/);
- `OUT/.claude-plugin/marketplace.json`: a marketplace naming the plugin (an existing one is
  updated in place, so several packs can be built into one marketplace);
- `OUT/NAME-VERSION.zip` (the plugin folder, SHA256SUMS included; entries sorted and dated
  1980-01-01 so a rebuild of the same files is byte-identical) and `OUT/NAME-VERSION.zip.sha256`.

Dot-files, `__pycache__` and symbolic links are left out. The caller lints first: a pack with
lint errors is never built.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillsrv.errors import SkillsrvError, UsageError
from skillsrv.packs import Pack
from skillsrv.packs.model import PackKind
from skillsrv.routing.evals import EVALS_FILE

DEFAULT_VERSION = "0.1.0"
MANIFEST = "SHA256SUMS"
ROOT_FOLDERS = ("commands", "agents", "hooks")
ROOT_FILES = (EVALS_FILE, "README.md", "LICENSE", "LICENSE.md", "LICENSE.txt", "NOTICE",
              "NOTICE.md")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass
class BuildResult:
    name: str
    version: str
    plugin_dir: Path
    marketplace: Path
    archive: Path
    archive_sha256: str
    files: dict[str, str]  # path inside the plugin -> sha256


def _skip(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__" or name.endswith(".pyc")


def _copy_tree(source: Path, dest: Path, exclude: frozenset[str] = frozenset()) -> None:
    for dirpath, dirnames, filenames in os.walk(source):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _skip(d) and not (here / d).is_symlink()
                             and not (here == source and d in exclude))
        for file_name in sorted(filenames):
            path = here / file_name
            if _skip(file_name) or path.is_symlink() or (here == source and file_name in exclude):
                continue
            target = dest / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def plugin_manifest(pack: Pack) -> dict[str, Any]:
    """The built plugin.json: the pack's own, completed, with the standard skills layout."""
    meta = _read_json(Path(pack.source) / ".claude-plugin" / "plugin.json")
    meta.pop("skills", None)  # the built plugin keeps skills in the default skills/ folder
    router = next((s for s in pack.skills if s.is_router), pack.skills[0] if pack.skills else None)
    manifest: dict[str, Any] = {
        "name": pack.name,
        "version": str(meta.get("version") or pack.version or DEFAULT_VERSION),
        "description": meta.get("description") or pack.description
        or (router.description if router else ""),
    }
    if pack.keywords and "keywords" not in meta:
        manifest["keywords"] = pack.keywords
    return {**meta, **manifest}


def _layout(pack: Pack, staging: Path) -> None:
    source = Path(pack.source)
    skills_dir = staging / "skills"
    for skill in pack.skills:
        if skill.path == ".":
            _copy_tree(source, skills_dir / skill.name, frozenset({EVALS_FILE}))
        else:
            _copy_tree(source / skill.path, skills_dir / Path(skill.path).name)
    if pack.kind is not PackKind.SKILL:
        for folder in ROOT_FOLDERS:
            if (source / folder).is_dir() and not (source / folder).is_symlink():
                _copy_tree(source / folder, staging / folder)
    for file_name in ROOT_FILES:
        path = source / file_name
        if path.is_file() and not path.is_symlink():
            shutil.copyfile(path, staging / file_name)


def _digests(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): _sha256(path)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def _write_marketplace(out: Path, pack: Pack, manifest: dict[str, Any]) -> Path:
    path = out / ".claude-plugin" / "marketplace.json"
    market = _read_json(path) if path.is_file() else {}
    author = manifest.get("author")
    market.setdefault("name", f"{pack.name}-marketplace")
    market.setdefault("owner", author if isinstance(author, dict) else {"name": pack.name})
    entry: dict[str, Any] = {"name": pack.name, "source": f"./{pack.name}",
                             "description": manifest.get("description", ""),
                             "version": manifest["version"]}
    for key in ("keywords", "category"):
        value = manifest.get(key) or getattr(pack, key)
        if value:
            entry[key] = value
    plugins = [p for p in market.get("plugins") or []
               if isinstance(p, dict) and p.get("name") != pack.name]
    market["plugins"] = sorted([*plugins, entry], key=lambda p: str(p.get("name")))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(market, indent=2) + "\n", encoding="utf-8")
    return path


def _write_zip(plugin_dir: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(plugin_dir.rglob("*")):
            if not path.is_file():
                continue
            info = zipfile.ZipInfo(f"{plugin_dir.name}/{path.relative_to(plugin_dir).as_posix()}",
                                   date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, path.read_bytes())


def _check_out(pack: Pack, out: Path, plugin_dir: Path) -> None:
    source = Path(pack.source).resolve()
    if out.resolve().is_relative_to(source):
        raise UsageError(f"--out {out} is inside the pack {source}",
                         hint="build into a folder outside the pack")
    if source.is_relative_to(plugin_dir.resolve()):
        raise UsageError(f"--out {out} would replace the pack itself",
                         hint="build into another folder")
    if plugin_dir.exists() and any(plugin_dir.iterdir()) and not (
            plugin_dir / ".claude-plugin" / "plugin.json").is_file():
        raise SkillsrvError(f"{plugin_dir} exists and is not a built plugin",
                            hint="remove it or choose another --out")


def build_pack(pack: Pack, out: Path) -> BuildResult:
    """Write the plugin, the marketplace entry and the zip of `pack` under `out`."""
    plugin_dir = out / pack.name
    _check_out(pack, out, plugin_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = plugin_manifest(pack)
    staging = Path(tempfile.mkdtemp(prefix=f".{pack.name}-", dir=out))
    try:
        _layout(pack, staging)
        (staging / ".claude-plugin").mkdir(exist_ok=True)
        (staging / ".claude-plugin" / "plugin.json").write_text(
            json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        files = _digests(staging)
        (staging / MANIFEST).write_text("".join(f"{digest}  {name}\n"
                                                for name, digest in files.items()),
                                        encoding="utf-8")
        if plugin_dir.exists():
            shutil.rmtree(plugin_dir)
        staging.rename(plugin_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    marketplace = _write_marketplace(out, pack, manifest)
    archive = out / f"{pack.name}-{manifest['version']}.zip"
    _write_zip(plugin_dir, archive)
    digest = _sha256(archive)
    (out / f"{archive.name}.sha256").write_text(f"{digest}  {archive.name}\n", encoding="utf-8")
    return BuildResult(name=pack.name, version=manifest["version"], plugin_dir=plugin_dir,
                       marketplace=marketplace, archive=archive, archive_sha256=digest,
                       files=files)
