"""autocode: build whole applications autonomously by driving a real OpenCode server."""

__version__ = "0.1.0"

OPENCODE_VERSION = "1.18.33"
"""The OpenCode release autocode is written and tested against (npm package `opencode-ai`)."""
