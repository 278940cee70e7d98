"""Typed messages of a session as OpenCode stores them (``GET /session/{id}/message``).

Each item is ``{"info": ..., "parts": [...]}``. An assistant message (one model step) has an
:class:`~agent.opencode.events.AssistantInfo` (model, cost, tokens, finish, error, times), a user
message a :class:`UserInfo`; parts are the classes the event stream yields for
``message.part.updated`` (text, tool, step-finish). Parsed here and only here, leniently: unknown
fields are ignored (the server adds some in every version), missing optional ones get defaults,
and a message or part that cannot be read is left out rather than failing the whole list.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.opencode.events import AssistantInfo, Part, UserInfo, parse_part


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    info: AssistantInfo | UserInfo
    parts: list[Part] = []

    @property
    def assistant(self) -> AssistantInfo | None:
        """The model step this message is, or ``None`` for a user message."""
        return self.info if isinstance(self.info, AssistantInfo) else None

    @property
    def created_ms(self) -> int:
        return self.info.created_ms


def parse_message(raw: object) -> Message | None:
    """One stored message; ``None`` if it is malformed or of a role autocode does not know."""
    if not isinstance(raw, dict) or not isinstance(raw.get("info"), dict):
        return None
    info = raw["info"]
    try:
        match info.get("role"):
            case "assistant":
                parsed: AssistantInfo | UserInfo = AssistantInfo.from_raw(info)
            case "user":
                parsed = UserInfo.from_raw(info)
            case _:
                return None
    except (ValidationError, TypeError, ValueError):
        return None
    parts = [part for item in raw.get("parts") or [] if isinstance(item, dict)
             if (part := parse_part(item)) is not None]
    return Message(info=parsed, parts=parts)


def parse_messages(raw: object) -> list[Message]:
    """A session's message list, in the server's order (oldest first)."""
    items = raw if isinstance(raw, list) else []
    return [message for item in items if (message := parse_message(item)) is not None]
