"""One strict loader for every data file: YAML in, a validated model out, or one readable error."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from painpoint.errors import DataFileError

M = TypeVar("M", bound=BaseModel)


def _field_path(loc: tuple[int | str, ...], data: object) -> str:
    """Render a pydantic error location as `pain_points[1].levels`, using ids where they help."""
    parts: list[str] = []
    node: object = data
    for key in loc:
        if isinstance(key, int):
            label = str(key)
            if isinstance(node, list) and 0 <= key < len(node):
                item = node[key]
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    label = f"{key}:{item['id']}"
                node = item
            else:
                node = None
            parts.append(f"[{label}]")
        else:
            parts.append(f".{key}" if parts else key)
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def format_validation_error(error: ValidationError, data: object) -> list[str]:
    """Turn a ValidationError into `field.path: message` lines a person can act on."""
    lines = []
    for item in error.errors():
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see `painpoint personas schema`)"
        elif item["type"] == "missing":
            message = "required field is missing"
        lines.append(f"{_field_path(tuple(item['loc']), data)}: {message}")
    return lines


def parse_yaml(text: str, source: str) -> object:
    """Parse YAML text, turning syntax errors into a DataFileError with the line number."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataFileError(source, [f"not valid YAML{where}: {problem}"]) from None


def validate_data(model: type[M], data: object, source: str) -> M:
    """Validate parsed data against a strict model.

    Raises:
        DataFileError: naming the source and every field that is wrong.
    """
    if not isinstance(data, dict):
        raise DataFileError(source, ["(top level): expected a mapping of fields, got " + type(data).__name__])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DataFileError(source, format_validation_error(exc, data)) from None


def load_text(model: type[M], text: str, source: str) -> M:
    """Load a model from YAML text (an upload, say), with `source` naming it in errors."""
    return validate_data(model, parse_yaml(text, source), source)


def load_file(model: type[M], path: Path) -> M:
    """Load a model from a YAML file.

    Raises:
        DataFileError: when the file can't be read, isn't YAML or doesn't match the model.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFileError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    return load_bytes(model, raw, str(path))


def load_bytes(model: type[M], raw: bytes, source: str) -> M:
    """Load a model from the bytes of a YAML file (a file on disk or an upload), with `source` naming it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(source, [f"not UTF-8 text (bad byte at offset {exc.start})"]) from None
    return load_text(model, text, source)
