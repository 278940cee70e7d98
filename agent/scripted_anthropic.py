"""The scripted model's Anthropic Messages wire format (``POST /v1/messages``).

The same scenario and the same :class:`~agent.scripted_model.Reply` as the OpenAI-compatible
route, written the way the Anthropic API writes them: a streamed ``message_start`` (with the
input, cache-creation and cache-read token counts), one ``content_block_start`` / ``_delta`` /
``_stop`` triple per text or ``tool_use`` block (tool input streamed as ``input_json_delta``),
then ``message_delta`` (stop reason, output tokens) and ``message_stop``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.scripted_model import Reply

JSON = dict[str, Any]


def usage_of(reply: Reply) -> JSON:
    usage = reply.usage or {}
    return {"input_tokens": int(usage.get("prompt_tokens", 0)),
            "output_tokens": int(usage.get("completion_tokens", 0)),
            "cache_creation_input_tokens": int(usage.get("cache_write_tokens", 0)),
            "cache_read_input_tokens": int(usage.get("cache_read_tokens", 0))}


def _stop_reason(reply: Reply) -> str:
    return "tool_use" if reply.tool_calls else "end_turn"


def _blocks(reply: Reply) -> list[JSON]:
    blocks: list[JSON] = [{"type": "text", "text": reply.text}] if reply.text else []
    blocks += [{"type": "tool_use", "id": c["id"].replace("call_", "toolu_"), "name": c["name"],
                "input": c["arguments"]} for c in reply.tool_calls]
    return blocks


def message(reply: Reply, model: str, mid: str) -> JSON:
    """The non-streaming response body."""
    return {"id": mid, "type": "message", "role": "assistant", "model": model,
            "content": _blocks(reply), "stop_reason": _stop_reason(reply), "stop_sequence": None,
            "usage": usage_of(reply)}


def events(reply: Reply, model: str, mid: str) -> list[bytes]:
    """The streamed response: server-sent events, each ``event: TYPE`` + ``data: JSON``."""
    usage = usage_of(reply)
    start: JSON = {"id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
             "stop_reason": None, "stop_sequence": None, "usage": usage | {"output_tokens": 1}}
    out: list[JSON] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(_blocks(reply)):
        if block["type"] == "text":
            text = block["text"]
            out.append({"type": "content_block_start", "index": index,
                        "content_block": {"type": "text", "text": ""}})
            out += [{"type": "content_block_delta", "index": index,
                     "delta": {"type": "text_delta", "text": text[i:i + 80]}}
                    for i in range(0, len(text), 80)]
        else:
            raw = json.dumps(block["input"])
            out.append({"type": "content_block_start", "index": index,
                        "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"],
                                          "input": {}}})
            out += [{"type": "content_block_delta", "index": index,
                     "delta": {"type": "input_json_delta", "partial_json": raw[i:i + 40]}}
                    for i in range(0, len(raw), 40)]
        out.append({"type": "content_block_stop", "index": index})
    out.append({"type": "message_delta", "delta": {"stop_reason": _stop_reason(reply),
                                                   "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]}})
    out.append({"type": "message_stop"})
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in out]
