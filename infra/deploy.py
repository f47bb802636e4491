"""`python -m infra.deploy`: `sam deploy` from a samconfig.toml profile, without questions.

`make deploy` runs it. The parameters sent are the profile's `parameter_overrides` with `--params`
merged on top: `sam deploy --parameter-overrides` replaces the config file's value entirely, so the
profile's values (EnvironmentName=...) are passed again here. A deploy is refused before anything
runs when a name in `--params` is not a template parameter (SAM would drop it silently), or when
SenderAddress or PublicBaseUrl would stay at the template's example defaults (mail from
crm@example.com, links to crm.example.com). `--guided` runs `sam deploy --guided`, which asks.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMCONFIG_PATH = ROOT / "samconfig.toml"
DEFAULT_SAM = str(ROOT / ".tools" / "sam" / "bin" / "sam")
# The template's defaults for these are examples: a stack deployed with them mails from and links to
# example.com.
REQUIRED = ("SenderAddress", "PublicBaseUrl")


class DeployError(Exception):
    """A deploy that must not start; the message says why and what to do instead."""


@dataclass(frozen=True)
class Plan:
    """What to deploy: a samconfig profile, the merged parameters and how to confirm."""

    config_env: str
    overrides: dict[str, str]
    confirm: bool | None = None  # None: the profile's confirm_changeset decides
    guided: bool = False
    region: str | None = None


def parse_overrides(text: str, *, source: str) -> dict[str, str]:
    """Read 'Key=Value Key2="a value"' (the samconfig / sam CLI form) into a dict, in order.

    Raises DeployError naming `source` for unbalanced quotes or an item that is not Key=Value.
    """
    try:
        items = shlex.split(text)
    except ValueError as exc:
        raise DeployError(f"{source}: cannot read {text!r}: {exc}") from exc
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isalnum():
            raise DeployError(f"{source}: {item!r} is not Key=Value (a parameter name, '=', a value)")
        values[key] = value
    return values


def load_samconfig(path: Path = SAMCONFIG_PATH) -> dict[str, Any]:
    """samconfig.toml as a dict. Raises DeployError when it is missing or not valid TOML."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DeployError(f"cannot read {path}: {exc}") from exc


def profile_overrides(samconfig: Mapping[str, Any], config_env: str) -> dict[str, str]:
    """The parameter_overrides of profile `config_env` (its deploy section, else its global one).

    Raises DeployError when samconfig.toml has no such profile or its overrides cannot be read.
    """
    profile = samconfig.get(config_env)
    if not isinstance(profile, Mapping):
        known = ", ".join(k for k, v in samconfig.items() if isinstance(v, Mapping)) or "none"
        raise DeployError(f"samconfig.toml has no profile {config_env!r} (profiles: {known})")
    for command in ("deploy", "global"):
        raw = profile.get(command, {}).get("parameters", {}).get("parameter_overrides")
        if raw is None:
            continue
        source = f"samconfig.toml [{config_env}.{command}.parameters] parameter_overrides"
        text = " ".join(shlex.quote(str(item)) for item in raw) if isinstance(raw, list) else str(raw)
        return parse_overrides(text, source=source)
    return {}


def template_parameters(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The Parameters block of template.yaml (or `path`): name -> its definition (Default, ...)."""
    from infra.template import TEMPLATE_PATH, load

    parameters = load(path or TEMPLATE_PATH).get("Parameters", {})
    return {str(name): dict(spec) for name, spec in parameters.items()}


def check(overrides: Mapping[str, str], parameters: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse unknown parameter names and the example defaults of SenderAddress and PublicBaseUrl.

    Raises DeployError with every problem found, each with what to pass instead.
    """
    problems = []
    unknown = sorted(set(overrides) - set(parameters))
    if unknown:
        problems.append(
            f"not parameters of template.yaml: {', '.join(unknown)} (known: {', '.join(sorted(parameters))})"
        )
    for name in REQUIRED:
        default = parameters.get(name, {}).get("Default")
        value = overrides.get(name)
        if not value or value == default:
            problems.append(
                f"{name} would stay at the template's example {default!r}: set it in PARAMS "
                f'(make deploy PARAMS="{name}=...") or in the profile\'s parameter_overrides '
                "in samconfig.toml"
            )
    if problems:
        raise DeployError("refusing to deploy:\n  " + "\n  ".join(problems))


def format_overrides(overrides: Mapping[str, str]) -> list[str]:
    """One `Key=Value` argument per parameter, quoted the way `sam --parameter-overrides` reads it.

    Raises DeployError for a value with a double quote, which that syntax cannot carry.
    """
    arguments = []
    for key, value in overrides.items():
        if '"' in value:
            raise DeployError(f"{key}: a value with a double quote cannot be passed to sam: {value!r}")
        needs_quotes = not value or any(c.isspace() or c == "'" for c in value)
        arguments.append(f'{key}="{value}"' if needs_quotes else f"{key}={value}")
    return arguments


def sam_command(plan: Plan, *, sam: str = DEFAULT_SAM) -> list[str]:
    """The exact `sam deploy` argument list for `plan` (run from the project root)."""
    command = [sam, "deploy", "--config-env", plan.config_env, "--no-fail-on-empty-changeset"]
    if plan.guided:
        command.append("--guided")
    if plan.confirm is not None:
        command.append("--confirm-changeset" if plan.confirm else "--no-confirm-changeset")
    if plan.region:
        command += ["--region", plan.region]
    if plan.overrides:
        command += ["--parameter-overrides", *format_overrides(plan.overrides)]
    return command


def plan_deploy(
    config_env: str,
    params: str,
    *,
    confirm: bool | None = None,
    guided: bool = False,
    region: str | None = None,
    samconfig: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
) -> Plan:
    """Merge `params` over the profile's overrides and check the result (not when guided: sam asks).

    Raises DeployError when the profile or `params` cannot be read or the check refuses.
    """
    config = load_samconfig() if samconfig is None else samconfig
    merged = {**profile_overrides(config, config_env), **parse_overrides(params, source="PARAMS")}
    if not guided:
        check(merged, template_parameters() if parameters is None else parameters)
    # Guided without PARAMS: sam offers the profile's own values as its defaults.
    overrides = merged if (params.strip() or not guided) else {}
    return Plan(config_env=config_env, overrides=overrides, confirm=confirm, guided=guided, region=region)


def missing_credentials(region: str | None) -> str | None:
    """What `sam deploy` would lack to reach AWS, as one sentence with the fix; None when nothing."""
    import boto3

    if boto3.Session(region_name=region).get_credentials() is None:
        return "no AWS credentials: run `aws configure` (or `aws sso login`), or set AWS_PROFILE"
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--config-env", default="default", help="samconfig.toml profile (default: default)")
    parser.add_argument("--params", default="", help='parameter overrides: "Key=Value Key2=Value2"')
    parser.add_argument(
        "--confirm",
        choices=["", "0", "1"],
        default="",
        help="1: confirm the changeset, 0: deploy without asking; empty: the profile's confirm_changeset",
    )
    parser.add_argument("--guided", action="store_true", help="sam deploy --guided (asks for everything)")
    parser.add_argument(
        "--region", default="", help="AWS region (default: the profile's, else your config's)"
    )
    parser.add_argument("--sam", default=DEFAULT_SAM, help="the sam executable")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the sam command instead of running it")
    mode.add_argument("--check", action="store_true", help="only check the parameters (before a build)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Check, then run (or print) `sam deploy`; its exit status, or 2 when the deploy is refused."""
    args = build_parser().parse_args(argv)
    try:
        plan = plan_deploy(
            args.config_env,
            args.params,
            confirm=None if args.confirm == "" else args.confirm == "1",
            guided=args.guided,
            region=args.region or None,
        )
        command = sam_command(plan, sam=args.sam)
    except DeployError as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        return 2
    if args.check:  # the step before `make build`: a missing credential is said now, not after the build
        problem = missing_credentials(plan.region)
        if problem:
            print(f"deploy: {problem}", file=sys.stderr)
            return 2
        return 0
    if args.dry_run:
        print(shlex.join(command))
        return 0
    print(f"+ {shlex.join(command)}", file=sys.stderr)
    return subprocess.run(command, cwd=ROOT, check=False).returncode  # noqa: S603 - the sam argv is built here from checked options, no shell


if __name__ == "__main__":
    sys.exit(main())
