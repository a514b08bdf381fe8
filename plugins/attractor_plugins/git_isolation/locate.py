"""``attractor resume --run-branch attractor/run/<id>``: a logs root from the repository.

If the run's logs root still exists it is used as it is. Otherwise it is
rebuilt from what the repository holds: manifest.json and graph.dot from
``refs/attractor/runs/<id>``, and a checkpoint from the run branch's commits
(their ``Attractor-*`` trailers give the completed stages and outcomes). The
resumed run continues after the last committed stage, in a worktree at the
branch's tip. Context values set by stages are not in git and start empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attractor_core.sdk import UsageError, utc_now_iso, write_json_atomic, write_text_atomic

from .commits import parse_trailers
from .gitcmd import GitError, git_sync
from .run_meta import meta_ref, parse_run_meta
from .workspace import RUN_BRANCH_PREFIX

_RECORD_END = "\x1e"
_FIELD_END = "\x1f"


def logs_root_from_branch(branch: str, cwd: Path) -> Path:
    branch = branch.removeprefix("refs/heads/")
    if not branch.startswith(RUN_BRANCH_PREFIX):
        raise UsageError(f"--run-branch {branch!r}: a run branch is named "
                         f"{RUN_BRANCH_PREFIX}<run_id>")
    run_id = branch[len(RUN_BRANCH_PREFIX):]
    repo = _repo(cwd)
    try:
        tip = git_sync(repo, "rev-parse", "--verify", f"refs/heads/{branch}").stdout.strip()
        record = parse_run_meta(git_sync(repo, "cat-file", "-p", meta_ref(run_id)).stdout
                                .partition("\n\n")[2])
    except GitError:
        raise UsageError(f"{repo} has no run branch {branch} with its run record "
                         f"({meta_ref(run_id)}); fetch both from where the run was pushed "
                         "or pass --logs-root") from None
    except ValueError as exc:
        raise UsageError(f"{meta_ref(run_id)} in {repo}: {exc}") from None
    manifest: dict[str, Any] = dict(record["manifest"])
    root = Path(manifest["logs_root"])
    if (root / "manifest.json").exists():
        return root
    root = _new_root(root, repo, run_id)
    subdir = str(record.get("subdir", ""))
    manifest["logs_root"] = str(root)
    manifest["workdir"] = str(repo / subdir if subdir else repo)
    write_text_atomic(root / "graph.dot", str(record["graph"]))
    stages = _committed_stages(repo, str(record["base_sha"]), tip)
    if stages:
        write_json_atomic(root / "checkpoint.json", _checkpoint(run_id, stages, record, tip,
                                                                repo, root))
    write_json_atomic(root / "manifest.json", manifest)
    return root


def _repo(cwd: Path) -> Path:
    try:
        return Path(git_sync(cwd, "rev-parse", "--show-toplevel").stdout.strip())
    except GitError:
        raise UsageError(f"--run-branch needs a git repository; {cwd} is not in one (cd into "
                         "the repository holding the branch)") from None


def _new_root(recorded: Path, repo: Path, run_id: str) -> Path:
    """The recorded place if it belongs to this repository, else the default place in it
    (a clone on another machine)."""
    default = repo / ".attractor" / "runs" / run_id
    for candidate in ((recorded, default) if repo in recorded.parents else (default,)):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        return candidate
    raise UsageError(f"cannot create a logs root for run {run_id}; pass --logs-root")


def _committed_stages(repo: Path, base: str, tip: str) -> list[dict[str, str]]:
    """The stage commits of the run branch's first-parent history, oldest first."""
    log = git_sync(repo, "log", "--first-parent", "--reverse",
                   f"--format=%H{_FIELD_END}%B{_RECORD_END}", f"{base}..{tip}").stdout
    stages = []
    for entry in log.split(_RECORD_END):
        sha, sep, message = entry.strip().partition(_FIELD_END)
        trailers = parse_trailers(message)
        if sep and "Attractor-Node" in trailers and "Attractor-Status" in trailers \
                and "Attractor-Branch" not in trailers:  # fast-forwarded branch stages
            stages.append({"sha": sha, "node": trailers["Attractor-Node"],
                           "status": trailers["Attractor-Status"],
                           "failure_class": trailers.get("Attractor-Failure-Class", "none")})
    return stages


def _checkpoint(run_id: str, stages: list[dict[str, str]], record: dict[str, Any], tip: str,
                repo: Path, root: Path) -> dict[str, Any]:
    """A checkpoint saying: the last committed stage just ended; route on from it."""
    outcomes = {}
    for stage in stages:
        cls = "" if stage["failure_class"] == "none" else stage["failure_class"]
        outcomes[stage["node"]] = {"status": stage["status"], "failure_class": cls}
    last = stages[-1]
    return {
        "run_id": run_id, "timestamp": utc_now_iso(), "current_node": last["node"],
        "next_node": "", "completed_nodes": [s["node"] for s in stages],
        "node_outcomes": outcomes, "last_outcome": outcomes[last["node"]],
        "workspace": {"kind": "git", "repo": str(repo), "run_branch": record["run_branch"],
                      "base_sha": record["base_sha"], "sha": tip,
                      "worktree": str(root / "worktree"), "subdir": record.get("subdir", "")},
        "schema_version": 1,
    }


