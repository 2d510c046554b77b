"""What the server serves at one moment: the catalog, its router, and every skill file's bytes.

A `State` never changes once built. Hot reload builds a new one off the event loop and swaps
it in with one assignment (see `reload.Live`), so a request sees the old state or the new one,
never a mix. Skill files are snapshotted at load time, so resources, `read_sheet` and the
skills extension's digests all describe the same version, and a broken edit on disk cannot
leak into the last good version that stays served.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from skillsrv.catalog import load_catalog
from skillsrv.manifest import Manifest, load_manifest
from skillsrv.packs import Catalog, Pack, Skill
from skillsrv.paths import DEFAULT_MANIFEST
from skillsrv.routing import Router
from skillsrv.scaffold.blueprint import Blueprint, catalog_blueprints

# Per-skill limits of the MCP skills extension (SEP-2640); larger skills are served truncated.
MAX_SKILL_FILES = 512
MAX_SKILL_BYTES = 16 * 1024 * 1024
# Folders never worth watching or serving.
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__"})
MAX_WATCHED_FILES = 20_000

Fingerprint = tuple[tuple[str, int, int, int], ...]


@dataclass(frozen=True)
class SourceConfig:
    """Where packs come from: the manifest's sources, extra paths, or only the extra paths."""

    manifest_path: Path | None = None
    extra_paths: tuple[Path, ...] = ()
    include_manifest_packs: bool = True

    def resolved_manifest(self) -> Path:
        """The manifest file `load_manifest` will read (it may not exist)."""
        return Path(self.manifest_path or os.environ.get("SKILLSRV_MANIFEST") or DEFAULT_MANIFEST)

    def load_manifest(self) -> Manifest:
        return load_manifest(self.manifest_path)

    def sources(self, manifest: Manifest) -> list[Path]:
        return [*(manifest.pack_paths() if self.include_manifest_packs else []),
                *self.extra_paths]


@dataclass(frozen=True)
class SkillFile:
    path: str  # relative to the skill folder, '/'-separated
    data: bytes = field(repr=False)
    digest: str  # "sha256:<hex>"
    mime_type: str

    @property
    def size(self) -> int:
        return len(self.data)

    def text(self) -> str | None:
        """The file as text, or None when it is not UTF-8 (served as a blob)."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None


@dataclass(frozen=True)
class SkillEntry:
    """One skill as served: where it lives and the snapshot of its files."""

    pack: Pack
    skill: Skill
    root: Path
    files: tuple[SkillFile, ...]
    left_out: tuple[str, ...] = ()  # files not served, with the reason

    @property
    def uri(self) -> str:
        return skill_uri(self.pack.name, self.skill.name, "SKILL.md")

    def file(self, path: str) -> SkillFile | None:
        return next((f for f in self.files if f.path == path), None)


@dataclass(frozen=True)
class State:
    manifest: Manifest
    catalog: Catalog
    router: Router
    skills: dict[tuple[str, str], SkillEntry]
    fingerprint: Fingerprint
    generation: int
    loaded_at: float = field(default_factory=time.time)
    # Filled on first use; a dict because the dataclass is frozen (the state is shared).
    _lazy: dict[str, list[Blueprint]] = field(default_factory=dict, repr=False)
    _lazy_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def blueprints(self) -> list[Blueprint]:
        """The loaded packs' blueprints, parsed on first use (keeps server start-up short);
        their problems join the catalog's diagnostics."""
        with self._lazy_lock:
            if "blueprints" not in self._lazy:
                blueprints, problems = catalog_blueprints(self.catalog)
                self.catalog.diagnostics.extend(problems)
                self._lazy["blueprints"] = blueprints
            return self._lazy["blueprints"]

    def entry(self, pack: str, skill: str) -> SkillEntry | None:
        return self.skills.get((pack, skill))


def skill_uri(pack: str, skill: str, path: str = "SKILL.md") -> str:
    """`skill://<pack>/<skill>/<path>`: the pack is the organisational prefix of SEP-2640."""
    return f"skill://{quote(pack, safe='')}/{quote(skill, safe='')}/{quote(path, safe='/')}"


def build_state(config: SourceConfig, generation: int = 1,
                fingerprint: Fingerprint | None = None) -> State:
    """Load the manifest, the packs and a snapshot of every skill file. Blocking: call it from
    a worker thread when an event loop is running. Raises `SkillsrvError` for a bad manifest."""
    manifest = config.load_manifest()
    if fingerprint is None:
        fingerprint = compute_fingerprint(watched_paths(config, manifest))
    catalog = load_catalog(manifest, config.extra_paths,
                           include_manifest_packs=config.include_manifest_packs)
    router = Router(catalog, max_query_chars=manifest.limits.max_query_chars)
    skills = {(pack.name, skill.name): snapshot_skill(pack, skill, manifest.limits.max_file_bytes)
              for pack in catalog.packs for skill in pack.skills}
    return State(manifest=manifest, catalog=catalog, router=router, skills=skills,
                 fingerprint=fingerprint, generation=generation)


def skill_root(pack: Pack, skill: Skill) -> Path:
    return Path(pack.source) if skill.path in ("", ".") else Path(pack.source) / skill.path


def snapshot_skill(pack: Pack, skill: Skill, max_file_bytes: int) -> SkillEntry:
    """Read every file of a skill folder (dot-files skipped, links kept inside the folder)."""
    root = skill_root(pack, skill)
    real_root = root.resolve()
    files: list[SkillFile] = []
    left_out: list[str] = []
    total = 0
    for relative in _walk(root):
        path = root / relative
        try:
            if not path.resolve().is_relative_to(real_root):
                left_out.append(f"{relative}: points outside the skill folder")
                continue
            size = path.stat().st_size
            if size > max_file_bytes:
                left_out.append(f"{relative}: {size:,} bytes is over the "
                                f"{max_file_bytes:,}-byte file limit")
                continue
            if len(files) >= MAX_SKILL_FILES or total + size > MAX_SKILL_BYTES:
                left_out.append(f"{relative}: over the skill limit of {MAX_SKILL_FILES} files "
                                f"or {MAX_SKILL_BYTES // 2**20} MiB")
                continue
            data = path.read_bytes()
        except OSError as exc:
            left_out.append(f"{relative}: unreadable ({exc.strerror})")
            continue
        total += len(data)
        files.append(SkillFile(path=relative, data=data,
                               digest="sha256:" + hashlib.sha256(data).hexdigest(),
                               mime_type=mime_type_of(relative)))
    # SKILL.md first: it is the entry point of every listing.
    files.sort(key=lambda f: (f.path != "SKILL.md", f.path))
    return SkillEntry(pack=pack, skill=skill, root=root, files=tuple(files),
                      left_out=tuple(left_out))


def mime_type_of(path: str) -> str:
    if path.endswith(".md"):
        return "text/markdown"
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"


def _walk(root: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            if not name.startswith("."):
                found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return found


# -- watching ------------------------------------------------------------------------------


def watched_paths(config: SourceConfig, manifest: Manifest) -> list[Path]:
    return [config.resolved_manifest(), *config.sources(manifest)]


def compute_fingerprint(paths: list[Path]) -> Fingerprint:
    """(path, mtime_ns, size, inode) of every file under `paths`: any edit, addition, removal
    or rename changes it. Dot-folders other than `.claude-plugin` are not looked at."""
    entries: list[tuple[str, int, int, int]] = []
    for root in paths:
        if len(entries) >= MAX_WATCHED_FILES:
            break
        try:
            info = os.stat(root)
        except OSError:
            entries.append((str(root), -1, -1, -1))
            continue
        if not os.path.isdir(root):
            entries.append((str(root), info.st_mtime_ns, info.st_size, info.st_ino))
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS
                           and (not d.startswith(".") or d == ".claude-plugin")]
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                entries.append((path, info.st_mtime_ns, info.st_size, info.st_ino))
            if len(entries) >= MAX_WATCHED_FILES:
                break
    return tuple(sorted(entries))
