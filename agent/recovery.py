"""Counting what a crashed run spent, from what the OpenCode server stored.

After ``kill -9``, a crash or a reboot, the ledger may lack the last steps: their events never
reached autocode. The server's own records (its SQLite, kept in the isolated state dir) still hold
every assistant message. A step cut off mid-answer has an unknowable cost; the ledger charges it
as the most expensive step seen (see ``Ledger.observe``), so it never shows less than was spent.
"""

from __future__ import annotations

from pathlib import Path

from agent.cost import Ledger
from agent.opencode.events import AssistantInfo
from agent.ports import OpenCodeAPI


def cut_off(step: AssistantInfo) -> bool:
    """A step that never reported its usage: interrupted or aborted while the model answered."""
    no_usage = not step.cost and not step.tokens.input and not step.tokens.output
    return no_usage and (not step.completed or (step.error is not None and step.error.is_abort))


async def recover_costs(client: OpenCodeAPI, ledger: Ledger, directory: Path, since: float,
                        feature: int | None, now: float) -> float:
    """Count every step of the sessions started since ``since`` (epoch s); returns the USD added."""
    before = ledger.total
    for info in await client.sessions(directory):
        if info.created_ms < (since - 5) * 1000:
            continue
        for message in await client.messages(info.id, directory):
            step = message.assistant
            if step is None:
                continue
            ledger.observe(message_id=step.id, session_id=step.session_id,
                           root_session_id=info.parent_id or info.id,
                           cost=step.cost, tokens=step.tokens.model_dump(),
                           model=f"{step.provider_id}/{step.model_id}", feature=feature, now=now,
                           estimated=cut_off(step))
    return ledger.total - before
