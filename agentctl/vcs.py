"""What git says changed: for `validate --changed` and `fmt --changed`.

gitpython is imported here only, so that commands that never ask git do not pay for it.
"""

from __future__ import annotations

from pathlib import Path

from agentctl.errors import UsageError


def changed_files(cwd: Path, since: str) -> set[Path]:
    """Files changed since `since` (committed, staged, unstaged or untracked), resolved.

    `since` is user text handed to git: a value starting with `-` is refused (git would read it as
    an option, and `--output=FILE` overwrites FILE), and `--end-of-options` stops git reading any
    revision as an option all the same."""
    if since.startswith("-") or "\0" in since:
        raise UsageError(
            f"--changed {since!r} is not a revision: a revision does not start with '-'",
            hint="pass a branch, tag or commit, for example --changed origin/main",
        )
    import git

    try:
        repo = git.Repo(cwd, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"--changed needs a git repository, and {cwd} is not in one", hint="drop --changed") from None
    top = Path(repo.working_tree_dir or cwd)
    try:
        names = repo.git.diff("--name-only", "--no-renames", "--end-of-options", since, "--").splitlines()
    except git.GitCommandError:
        raise UsageError(
            f"git does not know the revision {since!r}",
            hint="pass a branch, tag or commit, for example --changed origin/main",
        ) from None
    names += repo.untracked_files
    return {(top / name).resolve() for name in names}


def repository_root(path: Path) -> Path | None:
    """The working tree that holds `path`, or None outside git."""
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    return Path(repo.working_tree_dir) if repo.working_tree_dir else None


def last_commit_times(top: Path, paths: list[str]) -> dict[str, float]:
    """For each path (relative to `top`), the time of the last commit that touched it.

    One `git log --name-only` per batch of paths (not one per path): ten thousand notes cost a few
    git calls, not ten thousand.
    """
    import git

    times: dict[str, float] = {}
    if not paths:
        return times
    repo = git.Repo(top)
    wanted = set(paths)
    for start in range(0, len(paths), 400):  # stay far below the command-line length limit
        output = repo.git.log("--format=%x00%ct", "--name-only", "--no-renames", "--", *paths[start : start + 400])
        when = 0.0
        for line in output.splitlines():
            if line.startswith("\x00"):
                when = float(line[1:])
            elif line in wanted and line not in times:  # newest commit first
                times[line] = when
    return times


def commit_only(path: Path, message: str) -> str:
    """Commit `path` and nothing else, even if other changes are staged; the new commit's sha."""
    import git

    repo = git.Repo(path.parent, search_parent_directories=True)
    relative = path.resolve().relative_to(Path(repo.working_tree_dir or ".").resolve()).as_posix()
    try:
        repo.git.add("--", relative)
        repo.git.commit("--only", "-m", message, "--", relative)
    except git.GitCommandError as error:
        raise UsageError(
            f"git could not commit {relative}: {error.stderr.strip() or error}",
            hint="check `git status` and your git identity (user.name, user.email)",
        ) from None
    return str(repo.head.commit.hexsha)
