"""The HTTP API's OpenAPI document, generated from the code.

Every function of template.yaml with an `HttpApi` event is imported by file path, and each of its
module-level routers (`crm_core.http.router.HttpRouter`, usually `app`) replayed into a Powertools
`APIGatewayHttpResolver`: the same methods, rules, route functions and OpenAPI keywords. Powertools
writes each function's OpenAPI at development time only (the functions do not import it), and the
documents are merged: paths, component schemas and tags. Routes the template authorizes with IAM are
marked with a SigV4 security scheme, since the routers do not know about API Gateway's auth.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.modules import load_module
from infra.template import Template

TITLE = "CRM automation HTTP API"
VERSION = "1.0.0"
_SIGV4 = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "description": "AWS Signature Version 4 (API Gateway IAM authorization).",
    "x-amazon-apigateway-authtype": "awsSigv4",
}


def _resolvers(module: Any) -> list[Any]:
    """A Powertools resolver for each of the module's routers, with the same routes in the same order."""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from crm_core.http.router import HttpRouter

    resolvers = []
    for router in (value for value in vars(module).values() if isinstance(value, HttpRouter)):
        resolver = APIGatewayHttpResolver()
        for route in router.routes:
            resolver.route(route.rule, route.method, **route.openapi)(_described(route.func))
        resolvers.append(resolver)
    return resolvers


def _described(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` as Powertools reads a route function: its name (the operation id) and its signature with
    the annotations evaluated, a `Response[T]` of the router read as Powertools' own `Response[T]`."""
    from aws_lambda_powertools.event_handler import Response as PowertoolsResponse

    from crm_core.http.router import Response

    def powertools(annotation: Any) -> Any:
        if typing.get_origin(annotation) is Response:
            return PowertoolsResponse[typing.get_args(annotation)]  # type: ignore[misc]
        return annotation

    hints = typing.get_type_hints(func)
    signature = inspect.signature(func)
    parameters = [
        each.replace(annotation=hints.get(each.name, each.annotation))
        for each in signature.parameters.values()
    ]
    returns = powertools(hints.get("return", signature.return_annotation))

    def route(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    route.__name__, route.__qualname__, route.__doc__ = func.__name__, func.__qualname__, func.__doc__
    route.__signature__ = signature.replace(parameters=parameters, return_annotation=returns)  # type: ignore[attr-defined]
    return route


def http_functions(template: Template) -> dict[str, tuple[Path, list[tuple[str, str, bool]]]]:
    """Logical id -> (handler file, [(METHOD, path, iam)]) for every function with HttpApi events."""
    found: dict[str, tuple[Path, list[tuple[str, str, bool]]]] = {}
    for logical_id, function in sorted(template.functions().items()):
        routes = [
            (
                str(event["Properties"].get("Method", "ANY")).upper(),
                str(event["Properties"].get("Path", "/")),
                event["Properties"].get("Auth", {}).get("Authorizer") == "AWS_IAM",
            )
            for event in function.events.values()
            if event.get("Type") == "HttpApi"
        ]
        if routes:
            found[logical_id] = (function.handler_path, routes)
    return found


def build_document(template: Template | None = None) -> dict[str, Any]:
    """The merged OpenAPI document of every HttpApi function's router; raises ValueError on a clash."""
    template = template or Template()
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": {},
        "components": {"schemas": {}},
        "tags": [],
    }
    iam_routes: set[tuple[str, str]] = set()
    functions = http_functions(template)
    for logical_id, (path, routes) in functions.items():
        iam_routes |= {(method.lower(), route) for method, route, iam in routes if iam}
        for resolver in _resolvers(load_module(path, f"openapi_{logical_id}")):
            part = json.loads(resolver.get_openapi_json_schema(title=TITLE, version=VERSION))
            _merge(document, part, logical_id)
    for logical_id, (_, routes) in functions.items():
        for method, route, _iam in routes:
            operations = document["paths"].setdefault(route, {})
            operations.setdefault(method.lower(), _placeholder(template, logical_id, method, route))
    for route, operations in document["paths"].items():
        for method, operation in operations.items():
            if (method, route) in iam_routes:
                operation["security"] = [{"sigv4": []}]
                document["components"].setdefault("securitySchemes", {})["sigv4"] = _SIGV4
    _drop_unreferenced(document)
    document["paths"] = dict(sorted(document["paths"].items()))
    document["tags"] = sorted(document["tags"], key=lambda tag: tag["name"])
    return document


def _placeholder(template: Template, logical_id: str, method: str, route: str) -> dict[str, Any]:
    """A minimal operation for a route whose handler has no router to describe it."""
    description = template.resources[logical_id].get("Properties", {}).get("Description", logical_id)
    operation: dict[str, Any] = {
        "summary": str(description),
        "operationId": f"{logical_id}_{method.lower()}",
        "responses": {
            "default": {"description": "Not described by the handler (documented from template.yaml)."}
        },
        "x-crm-documented-from": "template.yaml",
    }
    names = re.findall(r"\{([^}+]+)\+?\}", route)
    if names:
        operation["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names
        ]
    return operation


def _merge(document: dict[str, Any], part: dict[str, Any], source: str) -> None:
    document["openapi"] = part.get("openapi", document["openapi"])
    for route, operations in part.get("paths", {}).items():
        target = document["paths"].setdefault(route, {})
        for method, operation in operations.items():
            if method in target:
                raise ValueError(f"{method.upper()} {route} is declared twice (again by {source})")
            extra = operation.pop("x-crm-parameters", [])  # parameters a handler reads by hand
            if extra:
                operation["parameters"] = [*operation.get("parameters", []), *extra]
            target[method] = operation
    schemas = document["components"]["schemas"]
    for name, schema in part.get("components", {}).get("schemas", {}).items():
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"schema {name!r} of {source} differs from one already merged")
        schemas[name] = schema
    known = {tag["name"] for tag in document["tags"]}
    document["tags"] += [tag for tag in part.get("tags", []) if tag.get("name") not in known]


def _drop_unreferenced(document: dict[str, Any]) -> None:
    """Drop component schemas nothing refers to (Powertools adds its 422 models to every document)."""
    schemas = document["components"]["schemas"]
    while True:
        text = json.dumps({k: v for k, v in document.items() if k != "components"}) + json.dumps(
            list(schemas.values())
        )
        unused = [name for name in schemas if f'"#/components/schemas/{name}"' not in text]
        if not unused:
            return
        for name in unused:
            del schemas[name]


def write(path: Path, template: Template | None = None) -> dict[str, Any]:
    """Write the document as JSON (atomically) and return it."""
    document = build_document(template)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return document
