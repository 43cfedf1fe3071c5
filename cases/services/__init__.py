"""Domain services: each takes the session first and ``now`` as a keyword; the caller commits."""

from cases import db as _db  # noqa: F401  (installs the ORM guard that keeps ticket history append-only)
