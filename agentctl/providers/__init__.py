"""Where agent calls go: the Anthropic API, a script, or nowhere (dry run).

`base` holds the small interface the engine talks to. Only `anthropic.py` imports the SDK, and
only when a provider is built for a real call: read-only commands never pay for it.
"""

from __future__ import annotations

# The registry of providers by name: `--provider`, `[dispatch] provider`, `runs resume --provider`.
PROVIDERS = ("anthropic", "scripted")
