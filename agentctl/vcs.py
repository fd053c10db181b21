"""What git says changed: for `validate --changed` and `fmt --changed`.

gitpython is imported here only, so that commands that never ask git do not pay for it.
"""

from __future__ import annotations

from pathlib import Path

from agentctl.errors import UsageError


def changed_files(cwd: Path, since: str) -> set[Path]:
    """Files changed since `since` (committed, staged, unstaged or untracked), resolved."""
    import git

    try:
        repo = git.Repo(cwd, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"--changed needs a git repository, and {cwd} is not in one", hint="drop --changed") from None
    top = Path(repo.working_tree_dir or cwd)
    try:
        names = repo.git.diff("--name-only", "--no-renames", since, "--").splitlines()
    except git.GitCommandError:
        raise UsageError(
            f"git does not know the revision {since!r}",
            hint="pass a branch, tag or commit, for example --changed origin/main",
        ) from None
    names += repo.untracked_files
    return {(top / name).resolve() for name in names}
