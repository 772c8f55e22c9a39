"""Planner suite on fresh phrasings (`datasets/planner_fresh.yaml`): goals written after the subject
definitions changed and never used to tune the rules, so its score says how the planner reads words
it has not seen. Scored exactly as the `planner` suite; only the dataset and the recording scope differ.
"""

from __future__ import annotations

from evals import suite_planner
from evals.datasets import PlannerExample
from evals.suites import ExampleResult, SuiteContext

ADVISORY = suite_planner.ADVISORY
aggregate = suite_planner.aggregate


def evaluate(example: PlannerExample, ctx: SuiteContext) -> ExampleResult:
    return suite_planner.evaluate(example, ctx, suite="planner_fresh")
