"""The starlette application: the JSON API, the SSE event streams and the web UI's pages."""

from __future__ import annotations

import hmac
import json
import re
import secrets
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import attrs
import trio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from attractor_core.sdk import InputError, parse_file, read_events, read_final

from .cluster import ClusterRuns
from .feed import Feeds
from .questions import AnswerRefused, give_answer, pending
from .render import node_states, render
from .runs import ApiError, RunsRoot, resume_argv, run_argv, validate
from .security import CSRF_COOKIE, SESSION_COOKIE, BodyTooLarge, cookies_of, session_value
from .stream import EventStream

Endpoint = Callable[[Request], Awaitable[Response]]
MAX_ANSWER_CHARS = 4096
INTERVIEWERS = ("http", "auto")
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
STAGE_FILES = ("prompt.md", "response.md", "status.json", "stdout.log", "stderr.log")
STAGE_TAIL_BYTES = 16384


@attrs.define
class Settings:
    runs_root: Path
    workdir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None
    allow_paths: tuple[Path, ...] = ()
    max_body: int = 1 << 20
    secure_cookies: bool = False
    executor: str = "local"  # where the runs the server starts run (cluster.py)


class Server:
    def __init__(self, settings: Settings, nursery: trio.Nursery,
                 cluster: ClusterRuns | None = None):
        self.settings = settings
        self.nursery = nursery
        self.runs = RunsRoot(settings.runs_root, workdir=settings.workdir,
                             allow_paths=settings.allow_paths, cluster=cluster)
        self.feeds = Feeds(nursery)


def api(handler: Callable[[Server, Request], Awaitable[Any]]) -> Callable[[Server], Endpoint]:
    """A JSON endpoint: the handler's value as JSON, refusals as JSON 4xx, never a traceback."""

    def bind(server: Server) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                result = await handler(server, request)
            except ApiError as exc:
                return JSONResponse({"error": exc.message, "status": exc.status, **exc.extra},
                                    status_code=exc.status)
            except AnswerRefused as exc:
                return JSONResponse({"error": str(exc), "status": exc.status},
                                    status_code=exc.status)
            except BodyTooLarge as exc:
                return JSONResponse({"error": str(exc), "status": 413}, status_code=413)
            except InputError as exc:
                return JSONResponse({"error": str(exc), "status": 400}, status_code=400)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return endpoint

    return bind


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def string_field(body: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"{key!r} must be a string")
    return value


def overrides_of(body: Mapping[str, Any]) -> dict[str, str]:
    given = body.get("set", {})
    if isinstance(given, list):
        pairs = {}
        for item in given:
            if not isinstance(item, str) or "=" not in item:
                raise ApiError(400, f"'set' entry {item!r}: write KEY=VALUE")
            key, _, value = item.partition("=")
            pairs[key.strip()] = value
        given = pairs
    if not isinstance(given, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in given.items()):
        raise ApiError(400, "'set' must map attribute names to strings")
    for key in given:
        if not _NAME.fullmatch(key):
            raise ApiError(400, f"'set' key {key!r} is not an attribute name")
    return dict(given)


# -- runs ---------------------------------------------------------------------------------

@api
async def start_pipeline(server: Server, request: Request) -> Response:
    body = await json_body(request)
    source, path = string_field(body, "dot"), string_field(body, "path")
    if (source is None) == (path is None):
        raise ApiError(400, "give exactly one of 'dot' (DOT source) or 'path' (a DOT file "
                            "under the runs root)")
    backend = string_field(body, "backend", "simulate") or "simulate"
    if not _NAME.fullmatch(backend):
        raise ApiError(400, f"backend {backend!r} is not a backend name")
    interviewer = string_field(body, "interviewer", "http") or "http"
    if interviewer not in INTERVIEWERS:
        raise ApiError(400, f"interviewer {interviewer!r}: use one of {', '.join(INTERVIEWERS)}")
    overrides = overrides_of(body)
    runs = server.runs
    dot = runs.dot_path(path) if path is not None else None
    run_id, run_dir = runs.prepare(string_field(body, "run_id"))
    try:
        if dot is None:
            dot = run_dir / "source.dot"
            dot.write_text(source or "", encoding="utf-8")
        diagnostics = await validate(dot)
    except BaseException:
        runs.discard(run_dir)
        raise
    errors = [d for d in diagnostics if d.get("severity") == "error"]
    if errors:
        runs.discard(run_dir)
        raise ApiError(422, f"the pipeline has {len(errors)} error(s); nothing was run",
                       diagnostics=diagnostics)
    argv = run_argv(dot, run_dir, run_id, runs.workdir, backend=backend,
                    interviewer=interviewer, overrides=overrides)
    await server.nursery.start(runs.launch, run_id, argv)
    return JSONResponse({"id": run_id, "url": f"/pipelines/{run_id}",
                         "events": f"/pipelines/{run_id}/events", "page": f"/runs/{run_id}",
                         "diagnostics": diagnostics}, status_code=201)


@api
async def list_pipelines(server: Server, request: Request) -> dict[str, Any]:
    return {"runs": [server.runs.summary(i) for i in server.runs.run_ids()]}


@api
async def get_pipeline(server: Server, request: Request) -> dict[str, Any]:
    return server.runs.summary(request.path_params["id"])


@api
async def status_alias(server: Server, request: Request) -> dict[str, Any]:
    run_id = request.query_params.get("id")
    if run_id is None:
        return {"runs": [server.runs.summary(i) for i in server.runs.run_ids()]}
    return server.runs.summary(run_id)


@api
async def cancel_pipeline(server: Server, request: Request) -> dict[str, Any]:
    await json_body(request)
    return server.runs.cancel(request.path_params["id"])


@api
async def resume_pipeline(server: Server, request: Request) -> dict[str, Any]:
    body = await json_body(request)
    runs = server.runs
    run_id = request.path_params["id"]
    run_dir = runs.run_dir(run_id)
    if (run_dir / "final.json").exists():
        await runs.settle(run_id, 10)
    if runs.running(run_id):
        raise ApiError(409, f"run {run_id} is running; it can be resumed once it stops")
    final_path = run_dir / "final.json"
    final = read_final(final_path)
    if final is None and final_path.exists():
        raise ApiError(409, f"run {run_id}: final.json cannot be read (torn, or not a final "
                            "record); nothing was resumed. Move it aside to resume the run "
                            "from its checkpoint")
    if final is not None and not final.can_resume:
        raise ApiError(409, f"run {run_id} already finished ({final.status}, exit_path "
                            f"{final.exit_path}); there is nothing to resume")
    interviewer = string_field(body, "interviewer", "http") or "http"
    if interviewer not in INTERVIEWERS:
        raise ApiError(400, f"interviewer {interviewer!r}: use one of {', '.join(INTERVIEWERS)}")
    await server.nursery.start(runs.launch, run_id, resume_argv(run_dir, interviewer))
    return {"id": run_id, "resuming": True}


async def events_stream(server: Server, request: Request) -> Response:
    try:
        run_dir = server.runs.run_dir(request.path_params["id"])
        after = last_event_id(request)
    except ApiError as exc:
        return JSONResponse({"error": exc.message, "status": exc.status},
                            status_code=exc.status)
    return EventStream(server.feeds.get(run_dir), after)


def events_endpoint(server: Server) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        return await events_stream(server, request)

    return endpoint


def last_event_id(request: Request) -> int:
    given = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    try:
        value = int(given)
    except ValueError:
        raise ApiError(400, f"Last-Event-ID {given!r} is not an event seq (an integer)") from None
    return max(0, value)


@api
async def pipeline_graph(server: Server, request: Request) -> Response:
    run_dir = server.runs.run_dir(request.path_params["id"])
    fmt = request.query_params.get("format", "svg")
    if fmt not in ("svg", "png"):
        raise ApiError(400, f"format {fmt!r}: use svg or png")
    source = run_dir / "graph.dot"
    if not source.is_file():
        source = run_dir / "source.dot"
    if not source.is_file():
        raise ApiError(404, "the run has no graph yet")
    graph = parse_file(source)
    states = node_states(read_events(run_dir / "progress.ndjson"))
    data = await trio.to_thread.run_sync(render, graph, states, fmt)
    return Response(data, media_type="image/svg+xml" if fmt == "svg" else "image/png",
                    headers={"Cache-Control": "no-store"})


@api
async def pipeline_questions(server: Server, request: Request) -> dict[str, Any]:
    run_dir = server.runs.run_dir(request.path_params["id"])
    return {"questions": pending(run_dir)}


async def answer_value(request: Request) -> str:
    body = await json_body(request)
    value = body.get("value", body.get("answer"))
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "give the answer as {\"value\": \"KEY or label\"}")
    if len(value) > MAX_ANSWER_CHARS:
        raise ApiError(413, f"the answer is over {MAX_ANSWER_CHARS} characters")
    return value


@api
async def answer_question(server: Server, request: Request) -> dict[str, Any]:
    run_dir = server.runs.run_dir(request.path_params["id"])
    value = await answer_value(request)
    return give_answer(run_dir, request.path_params["qid"], value)


@api
async def answer_alias(server: Server, request: Request) -> dict[str, Any]:
    body = await json_body(request)
    run_id, qid = string_field(body, "id"), string_field(body, "question")
    value = body.get("value", body.get("answer"))
    if run_id is None or not isinstance(value, str) or not value.strip():
        raise ApiError(400, "give {\"id\": RUN, \"value\": ANSWER} and, when several gates "
                            "wait, \"question\": QID")
    if len(value) > MAX_ANSWER_CHARS:
        raise ApiError(413, f"the answer is over {MAX_ANSWER_CHARS} characters")
    run_dir = server.runs.run_dir(run_id)
    if qid is None:
        waiting = pending(run_dir)
        if len(waiting) != 1:
            raise ApiError(409, f"{len(waiting)} questions are waiting in run {run_id}; "
                                "name one with \"question\"",
                           questions=[q.get("id") for q in waiting])
        qid = str(waiting[0]["id"])
    return give_answer(run_dir, qid, value)


@api
async def pipeline_checkpoint(server: Server, request: Request) -> dict[str, Any]:
    return read_artifact(server.runs.run_dir(request.path_params["id"]) / "checkpoint.json")


@api
async def pipeline_context(server: Server, request: Request) -> dict[str, Any]:
    checkpoint = read_artifact(server.runs.run_dir(request.path_params["id"]) / "checkpoint.json")
    context = checkpoint.get("context", {})
    return {"context": context if isinstance(context, dict) else {}}


@api
async def stage_details(server: Server, request: Request) -> dict[str, Any]:
    run_dir = server.runs.run_dir(request.path_params["id"])
    node = request.path_params["node"]
    if not _NAME.fullmatch(node) or node.startswith("."):
        raise ApiError(404, f"no stage {node!r}")
    stage_dir = run_dir / node
    if stage_dir.is_symlink() or not stage_dir.is_dir():
        raise ApiError(404, f"stage {node} has no directory yet (it has not run)")
    files = {}
    for name in STAGE_FILES:
        path = stage_dir / name
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                size = fh.seek(0, 2)
                fh.seek(max(0, size - STAGE_TAIL_BYTES))
                files[name] = fh.read().decode("utf-8", errors="replace")
    return {"id": node, "files": files}


def read_artifact(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ApiError(404, f"the run has no {path.name} yet") from None
    except (OSError, ValueError) as exc:
        raise ApiError(409, f"{path.name} cannot be read right now: {exc}") from None
    return value if isinstance(value, dict) else {}


# -- pages --------------------------------------------------------------------------------

def static_dir() -> Path:
    return Path(str(resources.files("attractor_plugins.server") / "static"))


def page(name: str, settings: Settings) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        response: Response = FileResponse(static_dir() / name, media_type="text/html",
                                          headers={"Cache-Control": "no-store"})
        if not cookies_of(request.scope).get(CSRF_COOKIE):
            response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), samesite="strict",
                                secure=settings.secure_cookies, path="/")
        return response

    return endpoint


LOGIN_FORM = """<!doctype html><html><head><meta charset="utf-8"><title>attractor login</title>
<link rel="stylesheet" href="/static/style.css"></head><body><main class="login">
<h1>attractor</h1><form method="post" action="/login">
<label>Access token <input type="password" name="token" autofocus required></label>
<button type="submit">Log in</button>{error}</form></main></body></html>"""


def login_page(settings: Settings) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        if request.method == "GET":
            return HTMLResponse(LOGIN_FORM.format(error=""))
        try:
            raw = (await request.body()).decode("utf-8", errors="replace")
        except BodyTooLarge as exc:
            return JSONResponse({"error": str(exc), "status": 413}, status_code=413)

        token = (parse_qs(raw).get("token") or [""])[0]
        if settings.token is None:
            return RedirectResponse("/", status_code=303)
        if not hmac.compare_digest(token, settings.token):
            return HTMLResponse(LOGIN_FORM.format(error='<p class="error">wrong token</p>'),
                                status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, session_value(settings.token), httponly=True,
                            samesite="strict", secure=settings.secure_cookies, path="/")
        return response

    return endpoint


async def not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    return JSONResponse({"error": detail, "status": status}, status_code=status)


async def internal_error(request: Request, exc: Exception) -> Response:
    traceback.print_exception(exc, file=sys.stderr)
    return JSONResponse({"error": "internal error; the server log has the details",
                         "status": 500}, status_code=500)


def create_app(server: Server) -> Starlette:
    s = server.settings
    routes = [
        Route("/", page("index.html", s)),
        Route("/runs/{id}", page("run.html", s)),
        Route("/login", login_page(s), methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=static_dir()), name="static"),
        Route("/pipelines", start_pipeline(server), methods=["POST"]),
        Route("/run", start_pipeline(server), methods=["POST"]),
        Route("/pipelines", list_pipelines(server), methods=["GET"]),
        Route("/status", status_alias(server), methods=["GET"]),
        Route("/answer", answer_alias(server), methods=["POST"]),
        Route("/pipelines/{id}", get_pipeline(server), methods=["GET"]),
        Route("/pipelines/{id}/events", events_endpoint(server), methods=["GET"]),
        Route("/pipelines/{id}/cancel", cancel_pipeline(server), methods=["POST"]),
        Route("/pipelines/{id}/resume", resume_pipeline(server), methods=["POST"]),
        Route("/pipelines/{id}/graph", pipeline_graph(server), methods=["GET"]),
        Route("/pipelines/{id}/questions", pipeline_questions(server), methods=["GET"]),
        Route("/pipelines/{id}/questions/{qid}/answer", answer_question(server),
              methods=["POST"]),
        Route("/pipelines/{id}/checkpoint", pipeline_checkpoint(server), methods=["GET"]),
        Route("/pipelines/{id}/context", pipeline_context(server), methods=["GET"]),
        Route("/pipelines/{id}/stages/{node}", stage_details(server), methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={
        HTTPException: not_found, Exception: internal_error})
