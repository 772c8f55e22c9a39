"""cmo-agent: shared plumbing (settings, schemas, storage, CLI, the GitHub sandbox).

The specialist agents live in the top-level `agents/` package, the LangGraph wiring in `graph/`,
and every I/O-bound tool in `tools/`; this package holds what all of them share.
"""

__version__ = "0.1.0"
