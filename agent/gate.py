"""The permission gate: the security policy's verdict on each ``permission.asked``, logged.

OpenCode asks before every bash command, every edit of a protected path and every access outside
the project; the gate maps each request to ``decide``/``decide_path`` and appends every refusal to
``.autocode/denied.jsonl`` (counted in ``autocode status``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.opencode.events import PermissionAsked
from agent.security import Decision, PolicyContext, SecurityConfig, decide, decide_path


class PolicyGate:
    def __init__(self, config: SecurityConfig, record: Callable[[dict[str, Any]], None] | None = None,
                 home: Path | None = None, private_tmp: bool = False) -> None:
        self.config = config
        self.private_tmp = private_tmp  # commands run in the command sandbox (its own /tmp)
        self.record = record
        self.home = home
        self.denied = 0

    def judge(self, ask: PermissionAsked, directory: Path) -> Decision:
        decision = self._decide(ask, directory)
        if not decision.allowed:
            self.denied += 1
            if self.record is not None:
                self.record({"session": ask.session_id, "permission": ask.permission,
                             "target": self.target(ask), "reason": decision.reason, "rule": decision.rule})
        return decision

    @staticmethod
    def target(ask: PermissionAsked) -> str:
        meta = ask.metadata
        value = meta.get("command") or meta.get("filepath") or meta.get("filePath") or meta.get("path")
        return str(value) if value else " ".join(ask.patterns)

    def _decide(self, ask: PermissionAsked, directory: Path) -> Decision:
        context = PolicyContext(project_dir=directory.resolve(), home=self.home, config=self.config,
                                private_tmp=self.private_tmp)
        match ask.permission:
            case "read" | "glob" | "grep" | "list" | "todowrite" | "todoread" | "lsp":
                # read-only inside the project: anything outside asks external_directory (refused)
                return Decision(allowed=True, rule="tool.readonly", reason="read-only tool")
            case "bash":
                return decide(self.target(ask), context)
            case "edit" | "write":
                path = self.target(ask)
                return decide_path(str(directory / path) if not path.startswith("/") else path,
                                   context, "edit")
            case "external_directory":
                return Decision(allowed=False, rule="path.external",
                                reason=f"{self.target(ask)} is outside the project directory; "
                                       "work only inside it")
        return Decision(allowed=False, rule=f"tool.{ask.permission}",
                        reason=f"the {ask.permission} permission is not granted in autocode builds")
