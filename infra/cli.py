"""The operator command `crm`. Each area adds its sub-commands in its own module under infra/commands/.

Every error reaches the user as one line saying what is wrong and how to fix it, with the exit code
of infra/commands/target.py (0 done, 1 failed, 2 usage, 3 target unreachable); `CRM_DEBUG=1` shows
the traceback as well. docs/cli.md documents every command, option, variable and exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

EPILOG = """\
target, on every command that talks to a deployment:
  --stack local (default) | --stack NAME   $CRM_STACK
  --endpoint URL (local stack, default http://127.0.0.1:3000)   $CRM_ENDPOINT
exit codes: 0 done, 1 failed (or parked), 2 usage, 3 target unreachable (no stack, credentials,
  region), 4 migration paused
CRM_DEBUG=1 shows the traceback of an error. Manual: docs/cli.md
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm",
        description="Operate the CRM automation (locally or on AWS).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from crm_core import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from infra.commands import register_all

    register_all(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `crm` console script: run the command, turn any error into one line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place every error becomes a sentence
        message, code = explain(exc)
        _say(message)
        if os.environ.get("CRM_DEBUG"):
            traceback.print_exc()
        return code


def explain(exc: BaseException) -> tuple[str, int]:
    """The sentence (with its fix) and the exit code for an error a command raised."""
    from infra.commands.target import EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, CliError

    if isinstance(exc, CliError):
        return str(exc), exc.exit_code
    from crm_core.errors import ConfigurationError

    if isinstance(exc, ConfigurationError):
        return f"{exc}\nFix the file (or the setting) it names, then run the command again.", EXIT_FAILED
    if isinstance(exc, FileNotFoundError | PermissionError):
        return f"cannot read {exc.filename}: {exc.strerror}", EXIT_USAGE
    botocore_error = _botocore(exc)
    if botocore_error is None and isinstance(exc, OSError):
        botocore_error = (
            f"cannot reach the target ({exc}): is the stack running (`make up`)?",
            EXIT_UNREACHABLE,
        )
    if botocore_error is not None:
        return botocore_error
    hint = "set CRM_DEBUG=1 to see the traceback, and report it if it looks like a bug"
    return f"unexpected error: {type(exc).__name__}: {exc} ({hint})", EXIT_FAILED


def _botocore(exc: BaseException) -> tuple[str, int] | None:
    if "botocore" not in sys.modules:
        return None
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    from infra.commands.target import EXIT_FAILED, EXIT_UNREACHABLE

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials: run `aws configure` (or `aws sso login`), or set AWS_PROFILE",
            EXIT_UNREACHABLE,
        )
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region REGION or set AWS_REGION", EXIT_UNREACHABLE
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS ({exc}): check your network and the region", EXIT_UNREACHABLE
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return (
            f"AWS refused {exc.operation_name}: {error.get('Code')}: {error.get('Message')} "
            "(check the stack name, the region and your permissions)",
            EXIT_FAILED,
        )
    return None


def _say(message: str) -> None:
    from infra.terminal import echo

    echo(f"crm: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
