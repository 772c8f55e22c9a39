"""The project-owned GitHub sandbox: a generated world served with GitHub's REST v3 shapes and,
on the same world, GitHub's GraphQL API (`/graphql`, `/api/graphql`).

`cmo run` starts it in-process when no GitHub is configured, the tests drive it with real PyGithub
(also as a GitHub App's installation: `SandboxApp`), and `truth` scores a run against what the
world really holds.
"""

from sandbox.apps import AppInstallation, SandboxApp
from sandbox.generator import build_world, generate_world
from sandbox.goals import BUILTIN_GOALS, BuiltinGoal
from sandbox.personas import FUZZY_GOALS, LOCAL_FIRST, LOCAL_FIRST_PERSONA
from sandbox.server import SandboxServer, ServerStats, open_sandbox
from sandbox.truth import identity_groups, matched_repos, people_with_persona, persona_of, subject_repos, truth
from sandbox.world import World

__all__ = [
    "BUILTIN_GOALS",
    "FUZZY_GOALS",
    "LOCAL_FIRST",
    "LOCAL_FIRST_PERSONA",
    "AppInstallation",
    "BuiltinGoal",
    "SandboxApp",
    "SandboxServer",
    "ServerStats",
    "World",
    "build_world",
    "generate_world",
    "identity_groups",
    "matched_repos",
    "open_sandbox",
    "people_with_persona",
    "persona_of",
    "subject_repos",
    "truth",
]
