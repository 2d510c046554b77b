"""Skill packs: loading sources, parsing frontmatter and markdown, extracting routing items."""

from skillsrv.packs.loader import LoadOptions, load_source, load_sources
from skillsrv.packs.model import Catalog, Document, Pack, Skill

__all__ = ["Catalog", "Document", "LoadOptions", "Pack", "Skill", "load_source", "load_sources"]
