"""Checking a project directory and its spec before a build starts (bad input → one-line error)."""

from __future__ import annotations

from pathlib import Path

from agent.errors import SpecError, UsageError

MAX_SPEC_BYTES = 512 * 1024


def read_spec(path: Path) -> str:
    """The spec's text, or a SpecError saying exactly what is wrong with it."""
    if path.is_dir():
        raise SpecError(f"spec {path} is a directory; pass the spec file itself (--spec FILE)")
    if not path.is_file():
        raise SpecError(f"spec {path} does not exist; write an app_spec.txt or pass --spec FILE")
    data = path.read_bytes()
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(f"spec {path} is {len(data) // 1024} KiB; keep it under "
                        f"{MAX_SPEC_BYTES // 1024} KiB (it goes into the prompt)")
    if b"\x00" in data:
        raise SpecError(f"spec {path} is binary, not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"spec {path} is not UTF-8 text") from None
    if not text.strip():
        raise SpecError(f"spec {path} is empty; describe the application to build")
    return text


def prepare_project(project_dir: Path, spec: Path | None) -> list[str]:
    """Create the directory if needed and put the spec in place; returns warnings."""
    try:
        project_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create project directory {project_dir}: {exc.strerror}") from None
    target = project_dir / "app_spec.txt"
    warnings: list[str] = []
    if spec is not None:
        text = read_spec(spec)
        if not target.exists():
            try:
                target.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"project directory {project_dir} is not writable ({exc.strerror})") from None
        elif target.read_text(encoding="utf-8", errors="replace") != text:
            warnings.append(f"{target} already exists and differs from {spec}; keeping the project's copy")
    read_spec(target)
    return warnings
