"""``attractor serve`` and ``attractor render``: the command-line side of the server plugin."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from attractor_core.sdk import InputError, UsageError

from .. import commands

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help=commands.SERVE,
                              description="Serve the HTTP API, live event streams and web UI "
                                          "of the runs under a runs root (docs/server.md).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; any other needs a token)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    p.add_argument("--runs-root", type=Path, default=Path(".attractor/runs"),
                   help="where runs live (default .attractor/runs)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="where runs started from the web work (default: cwd)")
    p.add_argument("--token-file", type=Path, default=None,
                   help="file holding the access token (default: none on 127.0.0.1, a "
                        "generated one, printed at start, on any other address)")
    p.add_argument("--allow-path", type=Path, action="append", default=[], dest="allow_paths",
                   metavar="DIR", help="also accept pipelines from DOT files under DIR")
    p.add_argument("--max-body", type=int, default=1 << 20, metavar="BYTES",
                   help="largest request body accepted (default 1 MiB)")
    p.add_argument("--executor", default="local", metavar="SPEC",
                   help="where the runs the server starts run: local (child processes, the "
                        "default), dask://HOST:PORT or dask-local:N (each run on a Dask "
                        "worker; docs/distributed.md)")
    p.set_defaults(handler=_serve)

    r = subparsers.add_parser("render", help=commands.RENDER,
                              description="Draw a pipeline with Graphviz; with --logs-root, "
                                          "colour each node by its state in that run.")
    r.add_argument("graph", type=Path, help="the pipeline's DOT file")
    r.add_argument("-o", "--output", type=Path, required=True,
                   help="the picture to write: .svg or .png")
    r.add_argument("--logs-root", type=Path, default=None,
                   help="a run of this pipeline: colour nodes by their state in it")
    r.set_defaults(handler=_render)


def _render(args: argparse.Namespace) -> int:
    from attractor_core.sdk import parse_file, read_events, write_bytes_atomic

    from .render import node_states, render

    fmt = args.output.suffix.lstrip(".").lower()
    try:
        if fmt not in ("svg", "png"):
            raise UsageError(f"{args.output}: name the output .svg or .png")
        graph = parse_file(args.graph)
        states = {}
        if args.logs_root is not None:
            progress = args.logs_root / "progress.ndjson"
            if not progress.is_file():
                raise UsageError(f"{args.logs_root} holds no run (no progress.ndjson); give "
                                 "the logs root of a run of this pipeline")
            states = node_states(read_events(progress))
        data = render(graph, states, fmt)
        write_bytes_atomic(args.output, data)
    except (InputError, OSError) as exc:
        sys.stderr.write(f"attractor: {exc}\n")
        return 2
    sys.stdout.write(f"wrote {args.output}\n")
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except (UsageError, OSError) as exc:
        sys.stderr.write(f"attractor: {exc}\n")
        return 2
    import trio

    from .serving import serve_forever

    # The server stops on SIGINT/SIGTERM itself (serving.py); no KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        trio.run(serve_forever, settings)
    except UsageError as exc:  # the --executor cluster cannot be reached
        sys.stderr.write(f"attractor: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"attractor: cannot serve on {args.host}:{args.port}: {exc}\n")
        return 2
    return 0


def _settings(args: argparse.Namespace) -> Any:
    from .app import Settings
    from .security import new_token

    token = None
    if args.token_file is not None:
        token = args.token_file.read_text(encoding="utf-8").strip()
        if not token:
            raise UsageError(f"--token-file {args.token_file} is empty; put the token in it")
    elif args.host not in LOOPBACK:
        token = new_token()
        sys.stdout.write(f"access token (send 'Authorization: Bearer TOKEN' or log in at "
                         f"/login): {token}\n")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: use 0 to 65535")
    if args.max_body < 1024:
        raise UsageError("--max-body: at least 1024 bytes")
    runs_root = args.runs_root.resolve()
    runs_root.mkdir(parents=True, exist_ok=True)
    workdir = (args.workdir or Path.cwd()).resolve()
    if not workdir.is_dir():
        raise UsageError(f"--workdir {workdir} is not a directory")
    from .cluster import check_spec

    return Settings(runs_root=runs_root, workdir=workdir, host=args.host, port=args.port,
                    executor=check_spec(args.executor), token=token,
                    allow_paths=tuple(p.resolve() for p in args.allow_paths),
                    max_body=args.max_body, secure_cookies=False)
