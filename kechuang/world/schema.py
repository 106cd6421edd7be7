"""Pieces of the world file's JSON Schema (draft 2020-12), and readable schema errors.

Sections build their schema from these helpers, so that lengths follow the model
fields (a name longer than the column is refused with its path, not by PostgreSQL)
and every entry refuses unknown keys (a typo is an error, not a silently ignored key).
"""

import difflib
import numbers
from collections.abc import Iterable
from typing import Any

from django.db import models
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaViolation

from .errors import Problem, at

DIALECT = "https://json-schema.org/draft/2020-12/schema"

KEY_PATTERN = r"^[-a-zA-Z0-9_]+$"
REGION_CODE_PATTERN = r"^(\d{6}|\d{9}|\d{12})$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
PARTIAL_DATE_PATTERN = r"^\d{4}(-\d{2}(-\d{2})?)?$"
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"


def _max_length(model: type[models.Model] | None, field: str | None) -> dict:
    if model is None or field is None:
        return {}
    length = model._meta.get_field(field).max_length
    return {"maxLength": length} if length else {}


def nullable(schema: dict) -> dict:
    """The same value, or null. Works because every fragment here names its type."""
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*kinds, "null"]}


def text(description: str, model=None, field: str | None = None, *, required: bool = False) -> dict:
    """A string; `required` strings may not be empty (the model field is not blank)."""
    return {"type": "string", "description": description, **({"minLength": 1} if required else {}),
            **_max_length(model, field)}


def key(description: str, model=None, field: str | None = None) -> dict:
    return {"type": "string", "description": description, "pattern": KEY_PATTERN, "minLength": 1,
            **_max_length(model, field)}


def region_code(description: str) -> dict:
    return {"type": "string", "description": description, "pattern": REGION_CODE_PATTERN}


def date(description: str) -> dict:
    return {"type": "string", "description": description, "pattern": DATE_PATTERN, "format": "date"}


def partial_date(description: str) -> dict:
    """YYYY, YYYY-MM or YYYY-MM-DD; a bare year may be an integer (YAML reads 2020 so)."""
    return {"type": ["string", "integer"], "description": description, "pattern": PARTIAL_DATE_PATTERN,
            "minimum": 1000, "maximum": 9999}


def decimal(description: str, **bounds: Any) -> dict:
    """A number, or a string holding one (for exact decimals through float-only JSON tools)."""
    return {"type": ["number", "string"], "description": description, "pattern": DECIMAL_PATTERN, **bounds}


def boolean(description: str) -> dict:
    return {"type": "boolean", "description": description}


def integer(description: str, **bounds: Any) -> dict:
    return {"type": "integer", "description": description, **bounds}


def choice(description: str, choices: type[models.TextChoices] | Iterable[str]) -> dict:
    values = list(choices.values) if isinstance(choices, type) else list(choices)
    return {"type": "string", "description": description, "enum": values}


def entry(description: str, properties: dict[str, dict], required: Iterable[str] = ()) -> dict:
    """An object with exactly these keys: any other key is an error."""
    return {"type": "object", "description": description, "properties": properties,
            "required": list(required), "additionalProperties": False}


def listing(description: str, item: dict, *, unique: bool = False) -> dict:
    return {"type": "array", "description": description, "items": item, **({"uniqueItems": True} if unique else {})}


# --- validation ------------------------------------------------------------------


def schema_problems(schema: dict, document: Any) -> list[Problem]:
    """Every way `document` breaks `schema`, as (path, reason) pairs: sections in the
    order the file writes them, entries in index order."""
    sections = {name: position for position, name in enumerate(document)} if isinstance(document, dict) else {}

    def order(error: SchemaViolation) -> list[tuple[int, Any]]:
        # Paths mix list indexes and keys; tag them so that sorting never compares int to str.
        path = list(error.absolute_path)
        head = [(0, sections.get(path[0], len(sections)))] if path else []
        return head + [(0, part) if isinstance(part, int) else (1, str(part)) for part in path[1:]]

    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems: list[Problem] = []
    for error in sorted(validator.iter_errors(document), key=order):
        problems.extend(_explain(error))
    return problems


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, numbers.Number):
        return "a number"
    return {str: "a text", list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _explain(error: SchemaViolation) -> list[Problem]:
    path = at(*error.absolute_path)
    value = error.instance
    rule = error.validator
    description = error.schema.get("description", "") if isinstance(error.schema, dict) else ""
    if rule == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        problems = []
        for extra in sorted(set(value) - set(allowed)):
            guess = difflib.get_close_matches(extra, allowed, n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else f"allowed keys: {', '.join(allowed)}"
            problems.append((at(path, extra), f"unknown key; {hint}"))
        return problems
    if rule == "required":
        return [(at(path, name), "is required") for name in error.validator_value if name not in value]
    if rule == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        if value is None:
            return [(path, f"is empty (null); expected {' or '.join(expected)}")]
        reason = f"{value!r} is {_type_name(value)}; expected {' or '.join(expected)}"
        if isinstance(value, int) and not isinstance(value, bool) and "string" in expected:
            reason += f" (write codes and keys in quotes: \"{value}\")"
        return [(path, reason)]
    if rule == "enum":
        guess = difflib.get_close_matches(str(value), [str(v) for v in error.validator_value], n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else ""
        return [(path, f"{value!r} is not one of {', '.join(map(str, error.validator_value))}{hint}")]
    if rule == "const":
        return [(path, f"{value!r}: must be {error.validator_value!r}")]
    if rule in ("pattern", "format"):
        return [(path, f"{value!r} is not valid here: {description or error.message}")]
    if rule == "minLength" and error.validator_value == 1:
        return [(path, "must not be empty")]
    if rule == "maxLength":
        return [(path, f"is {len(value)} characters long; at most {error.validator_value} fit")]
    if rule == "uniqueItems":
        return [(path, "lists the same item twice")]
    return [(path, error.message)]
