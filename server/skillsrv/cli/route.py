"""`skillsrv route QUERY`: where the answer lives, how sure we are and why, or what to ask."""

from __future__ import annotations

import argparse
import json
import sys

from skillsrv.cli.common import add_pack_options, catalog_from, manifest_from, print_json
from skillsrv.errors import UsageError
from skillsrv.memory import freeze_long_lived
from skillsrv.routing import QueryError, RouteDecision, Router


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("route", help="route a query to a pack/sheet, or ask first",
                                   description="Route a user's query over the loaded packs.")
    parser.add_argument("query", nargs="?", help="the user's words")
    parser.add_argument("--batch", metavar="FILE",
                        help="route one query per line of FILE ('-' for stdin); prints one JSON "
                             "object per line")
    add_pack_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def make_router(args: argparse.Namespace) -> Router:
    manifest = manifest_from(args)
    return Router(catalog_from(args), max_query_chars=manifest.limits.max_query_chars)


def run(args: argparse.Namespace) -> int:
    if (args.query is None) == (args.batch is None):
        raise UsageError("give a QUERY or --batch FILE (not both)")
    router = make_router(args)
    if args.batch is not None:
        return _batch(router, args.batch)
    decision = router.route(args.query)
    if args.json:
        print_json(decision.model_dump(mode="json"))
    else:
        print(render(decision))
    return 0


def _batch(router: Router, source: str) -> int:
    try:
        stream = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"{source}: cannot read ({exc.strerror})") from None
    freeze_long_lived()  # a long batch would otherwise walk the whole index in each full collection
    failures = 0
    with stream:
        for number, raw in enumerate(stream, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                failures += 1
                _emit({"line": number, "error": "line is not UTF-8 text"})
                continue
            if not line.strip():
                continue
            try:
                _emit({"line": number, **router.route(line).model_dump(mode="json")})
            except QueryError as exc:
                failures += 1
                _emit({"line": number, "error": str(exc)})
    return 1 if failures else 0


def _emit(data: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def render(decision: RouteDecision) -> str:
    lines = [f"decision: {decision.decision.value}"]
    if decision.redirect:
        lines.append(f"redirect: {decision.redirect.pack} — {decision.redirect.reason}"
                     + (f"  ({decision.redirect.source})" if decision.redirect.source else ""))
    for rank, route in enumerate(decision.routes, start=1):
        target = "/".join(p for p in (route.pack, route.skill, route.sheet) if p)
        lines.append(f"{rank}. {target}  score {route.score:.1f}  confidence "
                     f"{route.confidence:.0%}")
        for evidence in route.evidence:
            lines.append(f"     {evidence.kind}: {evidence.text}  [{evidence.source}]")
    if decision.known:
        lines.append("known: " + ", ".join(f"{k}={_short(v)}" for k, v in decision.known.items()))
    for warning in decision.warnings:
        lines.append(f"warning: {warning.message}" + (f"  [{warning.source}]"
                                                       if warning.source else ""))
    if decision.questions:
        lines.append("ask first:" if decision.decision.value == "clarify" else "then ask:")
        for question in decision.questions:
            lines.append(f"  - {question.question}  ({question.why}) [{question.source}]")
    return "\n".join(lines)


def _short(value: object) -> str:
    if isinstance(value, dict) and "text" in value:
        return str(value["text"])
    return str(value)
