"""The security policy autocode answers OpenCode's permission requests with.

``decide(command, context)`` judges a bash command, ``decide_path(path, context, action)`` a
file read/write/edit; both return a :class:`Decision` with a sentence for the agent.
"""

from agent.security.models import Decision, PolicyContext, SecurityConfig
from agent.security.policy import decide, decide_path, describe_policy, load_security_config

__all__ = [
    "Decision",
    "PolicyContext",
    "SecurityConfig",
    "decide",
    "decide_path",
    "describe_policy",
    "load_security_config",
]
