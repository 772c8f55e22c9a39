"""Migration scripts, one revision per file (hand-written; they never import the live ORM)."""
