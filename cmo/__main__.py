"""`python -m cmo` is the `cmo` command."""

from cmo.cli import app

app(prog_name="cmo")
