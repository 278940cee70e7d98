"""Prompt templates: lookup (``--prompts-dir`` > project overrides > built-in) and rendering.

Templates are Jinja2 with ``StrictUndefined``: a missing variable is an error, never a blank.
An override that uses a variable its template does not provide is rejected before the build
starts, naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes
from pydantic import BaseModel

from agent.errors import UsageError
from agent.features import Feature

VARIABLES: dict[str, frozenset[str]] = {
    "initializer": frozenset({"spec", "project_dir"}),
    "initializer_fix": frozenset({"problems", "attempt", "max_attempts", "project_dir"}),
    "coding": frozenset({"project_dir", "passing", "total", "recent_commits", "notes", "dirty",
                         "number", "feature", "last_failure", "test_cmd"}),
}
"""Every template and the variables autocode passes to it."""

TYPED: dict[str, type[BaseModel]] = {"feature": Feature}
"""Variables that are objects: a template may only use their fields (``feature.nme`` is a typo)."""


def builtin_dir() -> Path:
    packaged = Path(__file__).parent / "_prompts"  # inside a built wheel
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "prompts"


def _attribute_uses(tree: nodes.Template) -> list[tuple[str, str, int]]:
    """Every ``var.attr`` and ``var['attr']`` on a variable (not a loop-local shadowing it)."""
    uses = [(n.node.name, n.attr, n.lineno) for n in tree.find_all(nodes.Getattr)
            if isinstance(n.node, nodes.Name)]
    uses += [(n.node.name, n.arg.value, n.lineno) for n in tree.find_all(nodes.Getitem)
             if isinstance(n.node, nodes.Name) and isinstance(n.arg, nodes.Const)
             and isinstance(n.arg.value, str)]
    return uses


def _check_attributes(path: Path, tree: nodes.Template) -> None:
    """Reject ``feature.nme``: an attribute the typed object does not have (checked before any request)."""
    for var, attr, line in _attribute_uses(tree):
        model = TYPED.get(var)
        if model is not None and attr not in model.model_fields and not hasattr(model, attr):
            fields = ", ".join(model.model_fields)
            raise UsageError(f"prompt {path}: line {line}: {var!r} has no attribute {attr!r}; "
                             f"its fields: {fields}")


class PromptBook:
    """Finds and renders templates; ``dirs`` are searched first to last, then the built-ins."""

    def __init__(self, dirs: list[Path] | None = None) -> None:
        self.dirs = [d for d in (dirs or []) if d.is_dir()] + [builtin_dir()]
        self.env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                      autoescape=False)
        self._compiled: dict[tuple[Path, int], jinja2.Template] = {}

    def locate(self, name: str) -> Path:
        if name not in VARIABLES:
            raise UsageError(f"unknown prompt {name!r}; known: {', '.join(sorted(VARIABLES))}")
        for directory in self.dirs:
            path = directory / f"{name}.md"
            if path.is_file():
                return path
        raise UsageError(f"prompt template {name}.md not found in {self.dirs[-1]}")

    def source(self, name: str) -> str:
        return self.locate(name).read_text(encoding="utf-8")

    def validate(self) -> None:
        """Reject any template that fails to parse or uses a variable it is not given."""
        for name, allowed in VARIABLES.items():
            path = self.locate(name)
            try:
                tree = self.env.parse(path.read_text(encoding="utf-8"))
            except jinja2.TemplateSyntaxError as exc:
                raise UsageError(f"prompt {path}: line {exc.lineno}: {exc.message}") from None
            unknown = sorted(meta.find_undeclared_variables(tree) - allowed)
            if unknown:
                raise UsageError(f"prompt {path} uses unknown variable {unknown[0]!r}; "
                                 f"{name} provides: {', '.join(sorted(allowed))}")
            _check_attributes(path, tree)

    def _template(self, name: str) -> jinja2.Template:
        path = self.locate(name)
        key = (path, path.stat().st_mtime_ns)  # an edited override is picked up
        if key not in self._compiled:
            self._compiled[key] = self.env.from_string(path.read_text(encoding="utf-8"))
        return self._compiled[key]

    def render(self, name: str, **values: Any) -> str:
        try:
            return self._template(name).render(**values).strip() + "\n"
        except jinja2.UndefinedError as exc:
            raise UsageError(f"prompt {name}: {exc.message}") from None
