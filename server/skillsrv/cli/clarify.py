"""`skillsrv clarify QUERY`: what the query already says, and what to ask before answering."""

from __future__ import annotations

import argparse

from skillsrv.cli.common import add_pack_options, print_json
from skillsrv.cli.route import make_router


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("clarify", help="list the questions to ask before answering",
                                   description="Extract what the query says; list what to ask.")
    parser.add_argument("query", help="the user's words")
    add_pack_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = make_router(args).clarify(args.query)
    if args.json:
        print_json(result.model_dump(mode="json"))
        return 0
    for slot, value in result.known.items():
        print(f"known {slot}: {value}")
    if not result.questions:
        print("nothing to ask: the query says what routing needs")
    for question in result.questions:
        print(f"- [{question.slot}] {question.question}\n    why: {question.why}\n"
              f"    from: {question.source}")
    return 0
