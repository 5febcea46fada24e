"""A job's project tree: the files its tasks write, their checks, and its git history."""

from orchestrator.workspace._answer import (
    FileContent,
    FilesAnswer,
    ParsedFiles,
    answers_with_files,
    parse_files,
)
from orchestrator.workspace._history import FileVersion, file_history, last_writers, unified_diff
from orchestrator.workspace._repo import STEP_TRAILER, CommitInfo, Workspace
from orchestrator.workspace._tree import (
    MAX_TREE_BYTES,
    WrittenFile,
    has_manifest,
    legacy_path,
    starting_tree,
    task_files,
    tree_of,
    tree_problem,
)

__all__ = [
    "MAX_TREE_BYTES",
    "STEP_TRAILER",
    "CommitInfo",
    "FileContent",
    "FileVersion",
    "FilesAnswer",
    "ParsedFiles",
    "Workspace",
    "WrittenFile",
    "answers_with_files",
    "file_history",
    "has_manifest",
    "last_writers",
    "legacy_path",
    "parse_files",
    "starting_tree",
    "task_files",
    "tree_of",
    "tree_problem",
    "unified_diff",
]
