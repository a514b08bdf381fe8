"""Git run isolation: each run works on its own branch, in its own worktree.

When the workdir is inside a git repository the run gets branch
``attractor/run/<run_id>`` at HEAD and a worktree at ``{logs_root}/worktree``;
every completed stage is one commit; parallel branches get worktrees of their
own; the fan-in merges the winner; resume resets the worktree to the
checkpoint's commit. docs/git.md describes it for users.
"""
