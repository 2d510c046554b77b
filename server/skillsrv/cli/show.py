"""`skillsrv show PACK/SKILL[/SHEET]`: print one document of a loaded pack."""

from __future__ import annotations

import argparse
from pathlib import Path

from skillsrv.cli.common import add_pack_options, catalog_from
from skillsrv.packs.lookup import find_document


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("show", help="print one SKILL.md or sheet",
                                   description="Print a document: PACK/SKILL or PACK/SKILL/SHEET.")
    parser.add_argument("name", metavar="PACK/SKILL[/SHEET]")
    add_pack_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    catalog = catalog_from(args)
    pack, _skill, document = find_document(catalog, args.name)
    print((Path(pack.source) / document.path).read_text(encoding="utf-8"), end="")
    return 0
