"""What a lint check sees: the loaded packs, their documents, and how to name files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from skillsrv.authoring.tables import RawTable, scan_tables
from skillsrv.diagnostics import Diagnostic, Severity
from skillsrv.packs import Catalog, Document, Pack, Skill


def info(path: str, line: int | None, code: str, message: str) -> Diagnostic:
    """A finding worth knowing that never fails a lint run, even with --strict."""
    return Diagnostic(path=path, line=line, severity=Severity.INFO, code=code, message=message)


def _no_progress(message: str) -> None:
    return None


@dataclass
class LintOptions:
    build_blueprints: bool = True  # build each blueprint on the meta device (a subprocess)
    run_evals: bool = True  # run each pack's evals.yaml through the router
    build_timeout_s: float = 120.0


@dataclass
class LintContext:
    """One lint run over the packs under `root` (shown in messages as `display`)."""

    catalog: Catalog
    root: Path  # absolute
    display: Path  # as the user gave it, so `file:line` opens from where they stand
    options: LintOptions = field(default_factory=LintOptions)
    progress: Callable[[str], None] = _no_progress
    _tables: dict[tuple[str, str], list[RawTable]] = field(default_factory=dict)

    def show(self, pack: Pack, rel: str) -> str:
        """A pack file (relative to the pack root) as diagnostics name it."""
        return self.show_path(Path(pack.source) / rel)

    def show_path(self, path: Path) -> str:
        try:
            relative = Path(os.path.abspath(path)).relative_to(self.root)
        except ValueError:
            return path.as_posix()
        return (self.display / relative).as_posix()

    def documents(self) -> Iterator[tuple[Pack, Skill, Document]]:
        for pack in self.catalog.packs:
            for skill in pack.skills:
                for document in skill.documents():
                    yield pack, skill, document

    def tables(self, pack: Pack, document: Document) -> list[RawTable]:
        key = (pack.source, document.path)
        if key not in self._tables:
            self._tables[key] = scan_tables(document.body, document.body_line)
        return self._tables[key]
