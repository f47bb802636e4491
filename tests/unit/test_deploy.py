"""make deploy's parameters: the profile's merged with PARAMS, example defaults refused, the exact sam
command. No SAM CLI, no AWS: samconfig and the template's parameters are given or read from disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from infra import deploy
from infra.deploy import DeployError, Plan

SAMCONFIG: dict[str, Any] = {
    "version": 0.1,
    "default": {
        "global": {"parameters": {"stack_name": "crm-automation-dev"}},
        "deploy": {"parameters": {"confirm_changeset": True, "parameter_overrides": "EnvironmentName=dev"}},
    },
    "prod": {
        "deploy": {
            "parameters": {
                "parameter_overrides": (
                    'EnvironmentName=prod SenderAddress=crm@shop.example AlarmEmail="ops@shop.example"'
                )
            }
        }
    },
    "listed": {
        "deploy": {"parameters": {"parameter_overrides": ["EnvironmentName=qa", "AllowedOrigins=a,b"]}}
    },
    "bare": {"global": {"parameters": {"stack_name": "bare"}}},
}
PARAMETERS: dict[str, dict[str, Any]] = {
    "EnvironmentName": {"Default": "dev"},
    "SenderAddress": {"Default": "crm@example.com"},
    "PublicBaseUrl": {"Default": "https://crm.example.com"},
    "AllowedOrigins": {"Default": "http://127.0.0.1:3000"},
    "AlarmEmail": {"Default": ""},
    "DefaultTimeZone": {"Default": "Europe/Rome"},
}
GOOD = "SenderAddress=crm@shop.example PublicBaseUrl=https://crm.shop.example"


def plan(config_env: str = "default", params: str = GOOD, **kw: Any) -> Plan:
    return deploy.plan_deploy(config_env, params, samconfig=SAMCONFIG, parameters=PARAMETERS, **kw)


def test_params_merge_over_the_profile_which_keeps_its_environment_name() -> None:
    merged = plan(params=GOOD + " AllowedOrigins=https://shop.example,https://www.shop.example").overrides

    assert merged == {
        "EnvironmentName": "dev",
        "SenderAddress": "crm@shop.example",
        "PublicBaseUrl": "https://crm.shop.example",
        "AllowedOrigins": "https://shop.example,https://www.shop.example",
    }


def test_params_win_over_the_profile_and_the_profile_may_hold_the_sender() -> None:
    merged = plan("prod", params="PublicBaseUrl=https://crm.shop.example EnvironmentName=prod2").overrides

    assert merged == {
        "EnvironmentName": "prod2",
        "SenderAddress": "crm@shop.example",  # from the profile
        "AlarmEmail": "ops@shop.example",
        "PublicBaseUrl": "https://crm.shop.example",
    }


def test_profile_overrides_as_a_list_and_profiles_without_any() -> None:
    assert deploy.profile_overrides(SAMCONFIG, "listed") == {"EnvironmentName": "qa", "AllowedOrigins": "a,b"}
    assert deploy.profile_overrides(SAMCONFIG, "bare") == {}


def test_an_unknown_profile_is_refused_with_the_known_ones() -> None:
    with pytest.raises(DeployError, match=r"no profile 'staging' \(profiles: default, prod, listed, bare\)"):
        plan("staging")


@pytest.mark.parametrize(
    ("params", "refused"),
    [
        ("", ["SenderAddress", "PublicBaseUrl"]),
        ("PublicBaseUrl=https://crm.shop.example", ["SenderAddress"]),
        ("SenderAddress=crm@example.com PublicBaseUrl=https://crm.shop.example", ["SenderAddress"]),
        ('SenderAddress=crm@shop.example PublicBaseUrl=""', ["PublicBaseUrl"]),
        ("SenderAddress=crm@shop.example PublicBaseUrl=https://crm.example.com", ["PublicBaseUrl"]),
    ],
)
def test_example_defaults_are_refused(params: str, refused: list[str]) -> None:
    with pytest.raises(DeployError) as error:
        plan(params=params)

    message = str(error.value)
    assert message.startswith("refusing to deploy")
    for name in ("SenderAddress", "PublicBaseUrl"):
        assert (f"{name} would stay at the template's example" in message) == (name in refused)


def test_a_misspelt_parameter_is_refused_not_dropped() -> None:
    with pytest.raises(DeployError, match="not parameters of template.yaml: SenderAdress"):
        plan(params=GOOD + " SenderAdress=crm@shop.example")


@pytest.mark.parametrize("params", ["SenderAddress", "=x", 'A="unclosed', "Sender-Address=x"])
def test_unreadable_params_are_refused(params: str) -> None:
    with pytest.raises(DeployError, match="PARAMS"):
        plan(params=params)


def test_guided_skips_the_check_and_passes_only_what_was_given() -> None:
    assert plan(params="", guided=True).overrides == {}
    assert plan(params="AlarmEmail=ops@shop.example", guided=True).overrides == {
        "EnvironmentName": "dev",
        "AlarmEmail": "ops@shop.example",
    }


def test_the_sam_command() -> None:
    overrides = {
        "EnvironmentName": "prod",
        "SenderAddress": "crm@shop.example",
        "AllowedOrigins": "https://a.example,https://b.example",
        "AlarmEmail": "",
        "SupportAddress": "Help Desk <help@shop.example>",
    }

    command = deploy.sam_command(Plan("prod", overrides, confirm=False, region="eu-south-1"), sam="sam")

    assert command == [
        "sam",
        "deploy",
        "--config-env",
        "prod",
        "--no-fail-on-empty-changeset",
        "--no-confirm-changeset",
        "--region",
        "eu-south-1",
        "--parameter-overrides",
        "EnvironmentName=prod",
        "SenderAddress=crm@shop.example",
        "AllowedOrigins=https://a.example,https://b.example",
        'AlarmEmail=""',
        'SupportAddress="Help Desk <help@shop.example>"',
    ]
    assert deploy.sam_command(Plan("default", {}, confirm=True, guided=True), sam="sam") == [
        "sam",
        "deploy",
        "--config-env",
        "default",
        "--no-fail-on-empty-changeset",
        "--guided",
        "--confirm-changeset",
    ]


def test_a_double_quote_in_a_value_is_refused() -> None:
    with pytest.raises(DeployError, match="double quote"):
        deploy.format_overrides({"SupportAddress": '"Help" <help@shop.example>'})


def test_the_project_files_read_as_expected() -> None:
    """samconfig.toml's profiles and template.yaml's Parameters, as make deploy reads them."""
    samconfig = deploy.load_samconfig()
    assert deploy.profile_overrides(samconfig, "default") == {"EnvironmentName": "dev"}
    assert deploy.profile_overrides(samconfig, "prod") == {"EnvironmentName": "prod"}
    parameters = deploy.template_parameters()
    for name in deploy.REQUIRED:
        assert parameters[name]["Default"], name


def test_dry_run_prints_the_command_and_refusal_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--sam", "sam", "--config-env", "prod", "--confirm", "0", "--dry-run"]

    assert deploy.main([*argv, "--params", GOOD + " AllowedOrigins=https://shop.example"]) == 0
    assert capsys.readouterr().out == (
        "sam deploy --config-env prod --no-fail-on-empty-changeset --no-confirm-changeset "
        "--parameter-overrides EnvironmentName=prod SenderAddress=crm@shop.example "
        "PublicBaseUrl=https://crm.shop.example AllowedOrigins=https://shop.example\n"
    )

    assert deploy.main([*argv, "--params", "PublicBaseUrl=https://crm.shop.example"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "SenderAddress would stay at the template's example 'crm@example.com'" in captured.err


def test_a_missing_samconfig_is_a_deploy_error(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="cannot read"):
        deploy.load_samconfig(tmp_path / "samconfig.toml")


def test_without_aws_credentials_the_check_before_the_build_says_how_to_get_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--sam", "sam", "--config-env", "prod", "--params", GOOD]
    assert deploy.main([*argv, "--check"]) == 0  # the suite's fake credentials are credentials

    for name in [
        n for n in os.environ if n.startswith("AWS_") and n not in {"AWS_REGION", "AWS_DEFAULT_REGION"}
    ]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    assert deploy.main([*argv, "--check"]) == 2
    assert capsys.readouterr().err.strip() == (
        "deploy: no AWS credentials: run `aws configure` (or `aws sso login`), or set AWS_PROFILE"
    )
    assert deploy.main([*argv, "--dry-run"]) == 0  # printing the command stays offline
