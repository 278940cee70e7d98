"""Structured output: tell the agent the JSON Schema, read its file, repair trivial damage, validate."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from agent.errors import AutocodeError

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n\s*```\s*$", re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


class StructuredOutputError(AutocodeError):
    """The agent's output never matched the schema (after the allowed re-prompts)."""

    kind = "structured_output"


def instructions(schema: type[BaseModel], filename: str) -> str:
    return (f"\n\nWhen you are done, write your final answer as JSON to the file `{filename}` in the "
            f"project root (create it with the write tool). It must validate against this JSON "
            f"Schema:\n```json\n{json.dumps(schema.model_json_schema(), indent=2)}\n```\n"
            "Write only the JSON object to that file: no comments, no code fences.")


def repair(text: str) -> str:
    """Strip code fences and trailing commas: the damage models do most often."""
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    return _TRAILING_COMMA.sub(r"\1", text.strip())


def read_output(path: Path, schema: type[BaseModel]) -> tuple[Any | None, str]:
    """The validated instance, or None and the exact problem to tell the agent."""
    if not path.is_file():
        return None, f"the file `{path.name}` does not exist in the project root"
    raw = path.read_text(encoding="utf-8", errors="replace")
    try:
        return schema.model_validate_json(repair(raw)), ""
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'root'}: {e['msg']}"
                             for e in exc.errors()[:10])
        return None, f"`{path.name}` does not match the schema: {problems}"


def fix_prompt(problem: str, filename: str, attempt: int, attempts: int) -> str:
    return (f"Your structured output is not acceptable yet: {problem}. Rewrite `{filename}` so it is "
            f"one JSON object matching the schema given before. (Attempt {attempt} of {attempts}.)")
