"""Hostile cases of the command line itself: git options, the JSON contract on error exits."""

from __future__ import annotations

from collections.abc import Sequence

from tests.hostile.harness import Case, Outcome, Sandbox


def _changed_as_option(sandbox: Sandbox) -> Sequence[str]:
    sandbox.small_team()
    sandbox.commit_all()
    return ["validate", f"--changed=--output={sandbox.outside / 'precious.md'}"]


def _refused_option(sandbox: Sandbox, outcome: Outcome) -> None:
    assert "does not start with '-'" in outcome.stderr, outcome.stderr


CASES = [
    Case(
        "git-option-as-changed-ref",
        "validate --changed=--output=/some/file hands the value to git diff, which overwrites the file",
        _changed_as_option,
        (2,),
        _refused_option,
    ),
]
