"""How many leads a run may keep, in a module of its own: `cmo --help` needs the bound for
`--max-prospects` without loading the pydantic schemas (the rule itself is `schemas.plan.lead_count`)."""

DEFAULT_MAX_PROSPECTS = 50  # leads a run keeps when nobody says how many
MAX_PROSPECTS = 100_000  # the most any run may ask for, however it is asked
