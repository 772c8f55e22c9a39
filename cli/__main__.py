"""`python -m cli` is the `cmo` command."""

from cli.main import app

app(prog_name="cmo")
