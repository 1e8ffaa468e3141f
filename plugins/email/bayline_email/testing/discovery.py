"""Check JSON against the schemas of a Google discovery document: the one google-api-python-client ships
(``googleapiclient/discovery_cache/documents/gmail.v1.json``), so the Gmail stand-in answers (and is sent)
exactly what the real API's published schemas allow: every property known (no extras), every type and
``format`` (int64/uint64 as strings, ``byte`` as base64url) right."""
from __future__ import annotations

import base64
import json
import re
from functools import cache
from pathlib import Path
from typing import Any


@cache
def document(name: str = "gmail.v1") -> dict[str, Any]:
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / f"{name}.json"
    return dict(json.loads(path.read_text()))


def _convert(schema: Any) -> Any:
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "properties":
                out["properties"] = {name: _convert(prop) for name, prop in value.items()}
            elif key == "$ref":
                out["$ref"] = f"#/definitions/{value}"
            elif key in ("id", "description", "enumDescriptions", "enumDeprecated", "annotations", "readOnly",
                         "deprecated", "location"):
                continue
            elif key == "format" and value in ("int64", "uint64"):
                out["pattern"] = r"^-?[0-9]+$"
            elif key == "format" and value == "byte":
                out["pattern"] = r"^[A-Za-z0-9_\-=+/]*$"
            elif key == "format":
                continue
            else:
                out[key] = _convert(value)
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_convert(v) for v in schema]
    return schema


@cache
def _definitions(name: str) -> dict[str, Any]:
    return {k: _convert(v) for k, v in document(name)["schemas"].items()}


def problems(schema_name: str, value: Any, doc: str = "gmail.v1") -> list[str]:
    """What in ``value`` the discovery schema ``schema_name`` does not allow (empty when it conforms)."""
    from jsonschema import Draft7Validator

    schema = {"$ref": f"#/definitions/{schema_name}", "definitions": _definitions(doc)}
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in Draft7Validator(schema).iter_errors(value)]


def check(schema_name: str, value: Any, doc: str = "gmail.v1") -> Any:
    found = problems(schema_name, value, doc)
    if found:
        raise AssertionError(f"{schema_name} does not match {doc}: " + "; ".join(found[:10]))
    return value


def method(path: str, http_method: str, doc: str = "gmail.v1") -> dict[str, Any] | None:
    """The discovery method whose path template matches ``path`` (``gmail/v1/users/me/messages/x``)."""
    found: list[dict[str, Any]] = []

    def walk(resources: dict[str, Any]) -> None:
        for res in resources.values():
            for m in (res.get("methods") or {}).values():
                found.append(m)
            walk(res.get("resources") or {})

    walk(document(doc)["resources"])
    for m in found:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(m["path"])) + "$"
        if m["httpMethod"] == http_method and re.match(pattern, path.lstrip("/")):
            return m
    return None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")
