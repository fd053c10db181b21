"""What git says: changed files for `validate --changed`, commit times for
`memory list --stale`, the state of the memory folder for `memory prune`.

gitpython is imported here only, so that commands that never ask git do not pay for it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl.errors import UsageError
from agentctl.records import record

if TYPE_CHECKING:
    import git


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
    if not repo.head.is_valid():  # a repository without commits has no history to ask
        return times
    wanted = set(paths)
    try:
        with repo.git.custom_environment(GIT_LITERAL_PATHSPECS="1"):  # a note's path means itself
            for start in range(0, len(paths), 400):  # stay far below the command-line length limit
                batch = paths[start : start + 400]
                output = repo.git.log("--format=%x00%ct", "--name-only", "--no-renames", "--", *batch)
                when = 0.0
                for line in output.split("\n"):
                    if line.startswith("\x00"):
                        when = float(line[1:])
                    elif line in wanted and line not in times:  # newest commit first
                        times[line] = when
    except git.GitCommandError as error:
        raise UsageError(
            f"git could not say when files in {top} were committed: {error.stderr.strip() or error}",
            hint=f"check `git status` in {top}",
        ) from None
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


@record
class FolderHistory:
    """What git says about the files below one folder, by absolute real path (for `memory prune`)."""

    tracked: set[str]
    changed: set[str]  # staged, changed in the working tree, deleted or untracked
    last_change: dict[str, float]  # the newest author or committer time of a commit that touched the file


def folder_history(folder: Path) -> FolderHistory | None:
    """What git knows about the files below `folder` (a real path); None outside a git working tree.

    The folder is handed to git after `--` as a literal pathspec (GIT_LITERAL_PATHSPECS: a folder
    named `*` or `:(glob)x` means itself). `ls-files` and `status` answer NUL-separated; `log` quotes
    unusual names (core.quotepath), which then match no file: such a file has no commit time, and
    the caller keeps it. UsageError when git fails: the caller must not guess."""
    import git

    try:
        repo = git.Repo(folder, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    if repo.working_tree_dir is None:
        return None
    top = os.path.realpath(repo.working_tree_dir)
    relative = os.path.relpath(folder, top)
    if relative == ".." or relative.startswith(".." + os.sep):
        return None
    try:
        with repo.git.custom_environment(GIT_LITERAL_PATHSPECS="1"):
            return _history(repo, top, relative)
    except git.GitCommandError as error:
        raise UsageError(
            f"git could not say which files below {folder} are committed: {error.stderr.strip() or error}",
            hint=f"check `git status` in {top}",
        ) from None


def _history(repo: git.Repo, top: str, relative: str) -> FolderHistory:
    def absolute(names: list[str]) -> set[str]:
        return {os.path.join(top, name) for name in names if name}

    tracked = absolute(repo.git.ls_files("-z", "--", relative).split("\0"))
    status = repo.git.status("--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", relative)
    changed = absolute([record[3:] for record in status.split("\0")])
    last_change: dict[str, float] = {}
    if tracked and repo.head.is_valid():
        # -m: a merge counts as touching what it brought in, whatever the dates of the branch's commits.
        log = repo.git(c="core.quotepath=on").log(
            "-m", "--no-renames", "--format=%x00%ct %at", "--name-only", "--", relative
        )
        when = 0.0
        for line in log.split("\n"):  # not splitlines(): git quotes every name holding a control character
            if line.startswith("\x00"):
                when = max(float(value) for value in line[1:].split())
            elif line:
                path = os.path.join(top, line)
                last_change[path] = max(last_change.get(path, 0.0), when)
    return FolderHistory(tracked, changed, last_change)
