"""`crm openapi`: write the HTTP API's OpenAPI document, generated from the handlers' resolvers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from infra.terminal import echo


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "openapi", help="write the HTTP API's OpenAPI document (generated from the code)"
    )
    parser.add_argument("--output", "-o", default="-", help="file to write, or - for stdout (default)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from infra import openapi

    if args.output == "-":
        json.dump(openapi.build_document(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    document = openapi.write(Path(args.output))
    operations = sum(len(ops) for ops in document["paths"].values())
    echo(f"wrote {args.output}: {operations} operations on {len(document['paths'])} paths")
    return 0
