"""promptlint: a prompt efficiency linter and optimizer for Python teams that ship LLM features."""

__version__ = "0.1.0"
