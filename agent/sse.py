"""Server-sent event streams of model providers, as recorded: split, merge, rewrite.

A provider streams a tool call's arguments in fragments (OpenAI ``tool_calls[].function.arguments``,
Anthropic ``input_json_delta.partial_json``) and text in ``content`` / ``text_delta`` fragments, so
a value such as a file path may be cut in two. :func:`coalesce` merges consecutive fragments of
the same block into one event, after which a value can be rewritten with a plain replacement.
"""

from __future__ import annotations

import json
from typing import Any

JSON = dict[str, Any]
Event = tuple[str | None, str]  # (event name, data)


def split_events(text: str) -> list[Event]:
    """The events of an SSE body: each ``event:`` name (or None) and its ``data:`` payload."""
    events: list[Event] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if name is not None or data:
            events.append((name, "\n".join(data)))
    return events


def join_events(events: list[Event]) -> str:
    return "".join((f"event: {name}\n" if name else "") + f"data: {data}\n\n" for name, data in events)


def coalesce(events: list[Event]) -> list[Event]:
    """Merge consecutive text / tool-argument fragments of the same block (both wire formats)."""
    out: list[tuple[str | None, str, Any]] = []
    for name, data in events:
        try:
            payload = json.loads(data)
        except ValueError:
            payload = None
        if out and isinstance(payload, dict) and _merge(out[-1][2], payload):
            prev_name, _, prev = out[-1]
            out[-1] = (prev_name, json.dumps(prev), prev)
            continue
        out.append((name, data, payload))
    return [(name, data) for name, data, _ in out]


def _merge(prev: Any, new: JSON) -> bool:
    """Fold ``new`` into ``prev`` if it only continues prev's fragment; True if it did."""
    if not isinstance(prev, dict):
        return False
    if new.get("type") == "content_block_delta" and prev.get("type") == "content_block_delta":
        return _merge_anthropic(prev, new)
    return _merge_openai(prev, new)


def _merge_anthropic(prev: JSON, new: JSON) -> bool:
    a, b = prev.get("delta") or {}, new.get("delta") or {}
    if prev.get("index") != new.get("index") or a.get("type") != b.get("type"):
        return False
    key = {"text_delta": "text", "input_json_delta": "partial_json"}.get(str(b.get("type")))
    if key is None or set(b) != {"type", key}:
        return False
    a[key] = str(a.get(key, "")) + str(b.get(key, ""))
    return True


def _merge_openai(prev: JSON, new: JSON) -> bool:
    a, b = _delta(prev), _delta(new)
    if a is None or b is None or _finish(prev) or _finish(new) or new.get("usage"):
        return False
    if set(b) == {"content"} and set(a) <= {"content", "role"} and isinstance(a.get("content", ""), str):
        a["content"] = str(a.get("content") or "") + str(b["content"] or "")
        return True
    calls_a, calls_b = a.get("tool_calls"), b.get("tool_calls")
    if set(b) != {"tool_calls"} or not calls_a or not calls_b or len(calls_b) != 1:
        return False
    last, more = calls_a[-1], calls_b[0]
    function = more.get("function") or {}
    if more.get("index") != last.get("index") or more.get("id") or set(function) - {"arguments"}:
        return False
    target = last.setdefault("function", {})
    target["arguments"] = str(target.get("arguments") or "") + str(function.get("arguments") or "")
    return True


def _delta(payload: JSON) -> JSON | None:
    choices = payload.get("choices")
    if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
        return None
    delta = choices[0].get("delta")
    return delta if isinstance(delta, dict) else None


def _finish(payload: JSON) -> bool:
    return bool(payload["choices"][0].get("finish_reason"))
