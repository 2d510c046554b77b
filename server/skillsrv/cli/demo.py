"""`skillsrv demo`: the main job end to end on the bundled pack, as an assistant would do it."""

from __future__ import annotations

import argparse

from skillsrv.catalog import load_catalog
from skillsrv.cli.packs import render as render_packs
from skillsrv.cli.route import render as render_decision
from skillsrv.manifest import load_manifest
from skillsrv.routing import Router

DEMO_QUERIES = (
    "I have about 8k labelled 64x64 images of skin lesions in 7 classes and the model has to "
    "run on a phone in under 50 ms. Should I use a ViT or a ResNet?",
    "what's the best neural network?",
    "my loss goes NaN after a few hundred steps",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="route real queries over the bundled pack",
                                   description="Load the bundled pack and answer real queries "
                                               "end to end.")
    parser.add_argument("query", nargs="*", help="your own queries (default: three examples)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    manifest = load_manifest()
    catalog = load_catalog(manifest)
    print("== packs loaded from manifest.yaml ==")
    print(render_packs(catalog))
    router = Router(catalog, max_query_chars=manifest.limits.max_query_chars)
    for query in args.query or DEMO_QUERIES:
        print(f"\n== route: {query!r} ==")
        print(render_decision(router.route(query)))
    return 0
