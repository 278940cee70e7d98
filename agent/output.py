"""Structured output: tell the agent the JSON Schema, take its answer, repair trivial damage, validate.

The answer may come from two places, and both are accepted: the output file, if the agent wrote
it (it wins), or else its final message — the last fenced JSON block, or the largest balanced JSON
object or array in the text. Code fences and trailing commas are repaired in both. The schema is a
pydantic model class or a list of one (``list[Item]``); anything else is a ``TypeError`` at the call.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from agent.errors import AutocodeError

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n\s*```\s*$", re.DOTALL)
_FENCED_BLOCKS = re.compile(r"```[ \t]*([a-zA-Z0-9_-]*)[ \t]*\n(.*?)\n[ \t]*```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
Source = Literal["file", "text"]


class StructuredOutputError(AutocodeError):
    """The agent's output never matched the schema (after the allowed re-prompts)."""

    kind = "structured_output"


def schema_adapter(schema: object) -> TypeAdapter[Any]:
    """The validator for ``schema``: a pydantic model class or ``list[Model]``, else ``TypeError``."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return TypeAdapter(schema)
    if typing.get_origin(schema) is list:
        (item,) = typing.get_args(schema) or (None,)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return TypeAdapter(list[item])  # type: ignore[valid-type]
    raise TypeError(f"schema must be a pydantic model class or list[Model], not {schema!r}")


def instructions(adapter: TypeAdapter[Any], filename: str) -> str:
    return (f"\n\nWhen you are done, give your final answer as JSON that validates against this JSON "
            f"Schema:\n```json\n{json.dumps(adapter.json_schema(), indent=2)}\n```\n"
            f"Either write only that JSON to the file `{filename}` in the project root (with the write "
            "tool), or end your final message with it in a ```json fenced block.")


def repair(text: str) -> str:
    """Strip code fences and trailing commas: the damage models do most often."""
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    return _TRAILING_COMMA.sub(r"\1", text.strip())


def candidates_in_text(text: str) -> list[str]:
    """JSON answers in a message, best first: the last fenced block, then the largest balanced
    object or array (strings and escapes respected), then the others by size."""
    found = [body for lang, body in _FENCED_BLOCKS.findall(text) if lang.lower() in ("", "json", "jsonc")]
    found.reverse()
    found += sorted(_balanced(text), key=len, reverse=True)
    return found


def _balanced(text: str) -> list[str]:
    """Every outermost balanced ``{…}``/``[…]`` span, scanning JSON strings correctly."""
    spans: list[str] = []
    start, in_string, escaped = -1, False, False
    stack: list[str] = []
    pairs = {"{": "}", "[": "]"}
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"' and stack:
            in_string = True
        elif char in pairs:
            start = index if not stack else start
            stack.append(pairs[char])
        elif stack and char == stack[-1]:
            stack.pop()
            if not stack:
                spans.append(text[start:index + 1])
        elif stack and char in "}]":
            stack, in_string = [], False  # unbalanced: start over
    return spans


def validate(raw: str, adapter: TypeAdapter[Any]) -> tuple[Any | None, str]:
    try:
        return adapter.validate_json(repair(raw)), ""
    except ValidationError as exc:
        return None, "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'root'}: {e['msg']}"
                               for e in exc.errors()[:10])


def read_output(path: Path, text: str, adapter: TypeAdapter[Any]) -> tuple[Any | None, Source | None, str]:
    """The validated answer and where it came from, or None and the exact problem for the agent."""
    problems = []
    if path.is_file():
        value, problem = validate(path.read_text(encoding="utf-8", errors="replace"), adapter)
        if value is not None:
            return value, "file", ""
        problems.append(f"`{path.name}` does not match the schema: {problem}")
    first_problem = ""
    for candidate in candidates_in_text(text):
        value, problem = validate(candidate, adapter)
        if value is not None:
            return value, "text", ""
        first_problem = first_problem or problem
    if first_problem:
        problems.append(f"the JSON in your final message does not match the schema: {first_problem}")
    if not problems:
        problems.append(f"there is no `{path.name}` and no JSON in your final message")
    return None, None, "; ".join(problems)


def fix_prompt(problem: str, filename: str, attempt: int, attempts: int) -> str:
    return (f"Your structured output is not acceptable yet: {problem}. Give the corrected JSON, matching "
            f"the schema given before, either as the only content of `{filename}` or in a ```json "
            f"fenced block at the end of your reply. (Attempt {attempt} of {attempts}.)")
