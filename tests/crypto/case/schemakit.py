"""A validator for the subset of JSON Schema that docs/handoff.schema.json uses (type, const,
enum, pattern, minimum, properties, required, additionalProperties: false, items), so that the
offline side needs no new dependency. Any other keyword is refused, so the schema cannot grow
a rule this validator would silently ignore."""

from __future__ import annotations

import re
from typing import Any

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}
_KNOWN = {
    "$schema",
    "$id",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "pattern",
    "minimum",
    "properties",
    "required",
    "additionalProperties",
    "items",
}


def errors(schema: dict[str, Any], value: Any, path: str = "$") -> list[str]:
    unknown = set(schema) - _KNOWN
    if unknown:
        return [f"{path}: the schema uses {sorted(unknown)}, which this validator does not know"]
    out: list[str] = []
    t = schema.get("type")
    if t == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: not an integer"]
    elif t is not None and (not isinstance(value, _TYPES[t]) or (t != "boolean" and isinstance(value, bool))):
        return [f"{path}: not of type {t}"]
    if "const" in schema and value != schema["const"]:
        out.append(f"{path}: not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        out.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if "minimum" in schema and value < schema["minimum"]:
        out.append(f"{path}: below {schema['minimum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{path}: {k} is missing" for k in schema.get("required", ()) if k not in value]
        if schema.get("additionalProperties") is False:
            out += [f"{path}: {k} is not in the schema" for k in value if k not in props]
        for k, sub in props.items():
            if k in value:
                out += errors(sub, value[k], f"{path}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += errors(schema["items"], item, f"{path}[{i}]")
    return out
