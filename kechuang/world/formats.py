"""Reading and writing world files as YAML or JSON.

Numbers with a fraction are read as Decimal from their text, never as float, so that
12.5 percent stays 12.5. A key given twice in one mapping is an error (YAML and JSON
parsers otherwise keep the last one silently). Dates are written as quoted strings so
that every YAML reader keeps them as the same text.
"""

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .errors import WorldError
from .values import plain

FORMATS = ("yaml", "json")

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _DuplicateKey(ValueError):
    pass


class WorldLoader(_BaseLoader):
    """YAML's safe loader with exact decimals and no silent duplicate keys."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | float:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except ArithmeticError:
        # .inf and .nan: left to the schema and field checks to refuse.
        return yaml.SafeLoader.construct_yaml_float(loader, node)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"the key {key!r} is given twice", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


WorldLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
WorldLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


class WorldDumper(_BaseDumper):
    """YAML's safe dumper writing decimals exactly and long texts as blocks."""


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    if value == value.to_integral_value():
        return dumper.represent_int(int(value))
    return dumper.represent_scalar("tag:yaml.org,2002:float", format(value.normalize(), "f"))


_DATE_LIKE = re.compile(r"^\d{4}(-\d{2}){0,2}$")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Dates are quoted even where YAML 1.1 would read 2022-11 as text: a YAML 1.2 or
    # other reader then cannot take them for anything else either.
    style = "|" if "\n" in value else "'" if _DATE_LIKE.match(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


WorldDumper.add_representer(Decimal, _represent_decimal)
WorldDumper.add_representer(str, _represent_str)


# --- reading -------------------------------------------------------------------


def parse_yaml(text: str, label: str = "") -> Any:
    try:
        document = yaml.load(text, Loader=WorldLoader)  # noqa: S506 - WorldLoader is a SafeLoader
    except yaml.YAMLError as exc:
        raise WorldError([(label, f"not valid YAML: {exc}")]) from None
    _refuse_repeated(document, label)
    return document


def _refuse_repeated(document: Any, label: str) -> None:
    """Refuse a mapping or list that YAML's aliases (&name … *name) place twice: the loader
    shares it, but every later step copies it, and aliases of aliases ("billion laughs") make a
    file of a kilobyte cost gigabytes. A world file never needs them: `kechuang dump` writes none.
    Each container is visited once, so the check itself costs what the file holds."""
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        value, path = stack.pop()
        if not isinstance(value, dict | list):
            continue
        if id(value) in seen:
            raise WorldError([(path or label, "a YAML alias (*name) repeats a part of the file; write it out "
                                              "in full (world files do not use anchors and aliases)")])
        seen.add(id(value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            stack.append((item, f"{path}.{key}" if isinstance(key, str) and path else
                          str(key) if isinstance(key, str) else f"{path}[{key}]"))


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    mapping: dict = {}
    for key, value in pairs:
        if key in mapping:
            raise _DuplicateKey(f"the key {key!r} is given twice in one object")
        mapping[key] = value
    return mapping


def parse_json(text: str, label: str = "") -> Any:
    try:
        return json.loads(text, parse_float=Decimal, object_pairs_hook=_pairs_without_duplicates)
    except (ValueError, _DuplicateKey) as exc:
        raise WorldError([(label, f"not valid JSON: {exc}")]) from None


def format_of(path: Path | str, default: str = "yaml") -> str:
    """json for a .json file, yaml for .yaml/.yml, else `default`."""
    suffix = Path(path).suffix.lower()
    return {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix, default)


def read_document(path: Path | str) -> Any:
    """The parsed content of a world file; WorldError (naming the file) if it cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorldError([(str(path), f"cannot be read: {exc}")]) from None
    parse = parse_json if format_of(path) == "json" else parse_yaml
    return parse(text, str(path))


# --- writing -------------------------------------------------------------------


def _json_number(value: Decimal) -> int | float | str:
    """JSON has no decimals: a whole number is written as an integer, a fraction as a
    number when its text survives a float reader (up to 15 significant digits), else
    as a string, which the schema accepts for decimals."""
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else format(value.normalize(), "f")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return _json_number(value)
    return value


def to_json(document: dict) -> str:
    return json.dumps(_jsonable(plain(document)), ensure_ascii=False, indent=2) + "\n"


def to_yaml(document: dict) -> str:
    return yaml.dump(document, Dumper=WorldDumper, allow_unicode=True, sort_keys=False,
                     default_flow_style=False, width=4096)


def render(document: dict, fmt: str = "yaml") -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    return to_json(document) if fmt == "json" else to_yaml(document)
