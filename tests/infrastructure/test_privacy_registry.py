"""The privacy registry covers every table and bucket of template.yaml: a new store cannot be forgotten."""

from __future__ import annotations

from crm_core.privacy import registry
from crm_core.settings import Settings
from infra.template import Template


def _stores(template: Template) -> set[str]:
    return {logical_id for logical_id, _ in template.of_type("AWS::DynamoDB::Table", "AWS::S3::Bucket")}


def test_every_table_and_bucket_of_the_template_is_in_the_privacy_registry(template: Template) -> None:
    listed = {store.resource for store in registry.STORES}
    missing = _stores(template) - listed
    assert not missing, (
        f"{sorted(missing)} may hold personal data: add each to crm_core/privacy/registry.py (how a person's "
        "items are found there, and what erasure does with them) and to docs/data-rights.md"
    )
    assert listed <= _stores(template), (
        f"the registry names stores the template lacks: {listed - _stores(template)}"
    )
    assert len(listed) == len(registry.STORES), "a store is listed twice"


def test_each_registry_entry_names_the_setting_of_its_store(template: Template) -> None:
    variables = Settings.variables()
    environment = next(iter(template.functions().values())).environment
    fields = {f.name: f.metadata["env"] for f in Settings.__dataclass_fields__.values()}
    for store in registry.STORES:
        assert store.setting in fields, store.resource
        assert fields[store.setting] in variables
        assert environment[fields[store.setting]] == template.ref(store.resource), store.resource
        assert store.kind == (registry.BUCKET if store.resource.endswith("Bucket") else registry.TABLE)


def test_the_index_lookups_of_the_registry_exist_in_the_template(template: Template) -> None:
    tables = dict(template.of_type("AWS::DynamoDB::Table"))
    for logical_id in ("MessagesTable", "CasesTable", "PrivacyRequestsTable"):
        indexes = {i["IndexName"]: i for i in tables[logical_id]["Properties"]["GlobalSecondaryIndexes"]}
        assert indexes["by-contact"]["KeySchema"][0]["AttributeName"] == "contact_id", logical_id
