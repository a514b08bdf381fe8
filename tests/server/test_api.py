"""The HTTP API of ``attractor serve``, through real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from httpx_sse import connect_sse

from .conftest import GATE_DOT, SLOW_DOT, Served, flaky_dot, process_running


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def raw_get(url: str, path: str) -> tuple[int, str, str]:
    """GET ``path`` exactly as written (httpx would normalise ``..`` away)."""
    parsed = httpx.URL(url)
    connection = http.client.HTTPConnection(parsed.host, parsed.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("content-type", ""), response.read().decode()
    finally:
        connection.close()


def stream(client: httpx.Client, run_id: str, last: int | None = None) -> list[dict]:
    """Every frame of the run's SSE stream until the server ends it."""
    headers = {"Last-Event-ID": str(last)} if last is not None else {}
    frames = []
    with connect_sse(client, "GET", f"/pipelines/{run_id}/events", headers=headers) as source:
        for sse in source.iter_sse():
            frames.append({"id": sse.id, "event": sse.event, "data": sse.data})
    return frames


def test_a_web_gate_is_answered_and_the_stream_carries_every_event_once(server: Served) -> None:
    with server.client() as client:
        run_id = server.start(client, GATE_DOT)
        [question] = server.questions(client, run_id)
        assert question["stage"] == "ask" and question["text"] == "Ship it?"
        assert [o["key"] for o in question["options"]] == ["Y", "N"]
        answered = client.post(f"/pipelines/{run_id}/questions/{question['id']}/answer",
                               json={"value": "Y"})
        assert answered.status_code == 200, answered.text
        frames = stream(client, run_id)
        run = server.wait_for(client, run_id, ("success",))
    assert run["explanation"].startswith("The run succeeded")
    events = [f for f in frames if f["event"] == "message"]
    on_disk = server.progress(run_id)
    assert [int(f["id"]) for f in events] == [e["seq"] for e in on_disk]
    assert [json.loads(f["data"]) for f in events] == on_disk
    assert frames[-1]["event"] == "end"
    assert any(e["event"] == "interview_completed" for e in on_disk)
    # An ordinary run: `attractor status` reads it from its artifacts.
    status = subprocess.run([sys.executable, "-m", "attractor_core", "status", "--logs-root",
                             str(server.runs_root / run_id)], capture_output=True, text=True)
    assert f"run {run_id}: success" in status.stdout


def test_last_event_id_resumes_after_that_event(server: Served) -> None:
    with server.client() as client:
        run_id = server.start(client, GATE_DOT, interviewer="auto")
        server.wait_for(client, run_id, ("success",))
        seqs = [e["seq"] for e in server.progress(run_id)]
        middle = seqs[len(seqs) // 2]
        resumed = [int(f["id"]) for f in stream(client, run_id, last=middle)
                   if f["event"] == "message"]
        assert resumed == [s for s in seqs if s > middle]
        assert stream(client, run_id, last=seqs[-1])[0]["event"] == "end"
        bad = client.get(f"/pipelines/{run_id}/events", headers={"Last-Event-ID": "x"})
        assert bad.status_code == 400 and "Last-Event-ID" in bad.json()["error"]


def test_clients_from_different_events_each_get_the_rest_once_in_order(
        server: Served) -> None:
    """Clients attached to a live run at different points share its frames: each gets
    every event after its own Last-Event-ID, once, in order, up to the end frame."""
    with server.client() as client:
        run_id = server.start(client, GATE_DOT)
        [question] = server.questions(client, run_id)
        waiting = [e["seq"] for e in server.progress(run_id)]
        starts = [None, waiting[0], waiting[len(waiting) // 2], waiting[-1]]
        results: dict[int, list[dict]] = {}

        def watch(index: int, last: int | None) -> None:
            with server.client() as own:
                results[index] = stream(own, run_id, last=last)

        threads = [threading.Thread(target=watch, args=(i, last))
                   for i, last in enumerate(starts)]
        for thread in threads:
            thread.start()
        answered = client.post(f"/pipelines/{run_id}/questions/{question['id']}/answer",
                               json={"value": "Y"})
        assert answered.status_code == 200, answered.text
        for thread in threads:
            thread.join(timeout=60)
        server.wait_for(client, run_id, ("success",))
    seqs = [e["seq"] for e in server.progress(run_id)]
    assert len(results) == len(starts)
    for index, last in enumerate(starts):
        frames = results[index]
        got = [int(f["id"]) for f in frames if f["event"] == "message"]
        assert got == [s for s in seqs if last is None or s > last], last
        assert frames[-1]["event"] == "end"


def test_resume_refuses_a_finished_run_and_a_corrupt_final_json(server: Served) -> None:
    with server.client() as client:
        run_id = server.start(client, GATE_DOT, interviewer="auto")
        server.wait_for(client, run_id, ("success",))
        finished = client.post(f"/pipelines/{run_id}/resume")
        assert finished.status_code == 409
        assert "nothing to resume" in finished.json()["error"]
        final = server.runs_root / run_id / "final.json"
        final.write_text(final.read_text()[:40])  # torn
        torn = client.post(f"/pipelines/{run_id}/resume")
        assert torn.status_code == 409
        assert torn.headers["content-type"] == "application/json"
        assert "final.json cannot be read" in torn.json()["error"]
        assert "Traceback" not in torn.text
        assert client.get(f"/pipelines/{run_id}").json()["state"] != "running"


def test_an_invalid_pipeline_is_refused_with_its_diagnostics(server: Served) -> None:
    with server.client() as client:
        response = client.post("/pipelines", json={
            "dot": "digraph x { start [shape=Mdiamond]; a [shape=box]; start -> a }"})
        assert response.status_code == 422
        body = response.json()
        assert "error" in body["error"]
        assert any(d["rule"] == "terminal_node" and d["severity"] == "error"
                   for d in body["diagnostics"])
        unparsable = client.post("/pipelines", json={"dot": "digraph { a -> }"})
        assert unparsable.status_code == 422
        assert unparsable.json()["diagnostics"][0]["line"] == 1
        names = {r["id"] for r in client.get("/pipelines").json()["runs"]}
    assert not any(p.name not in names for p in server.runs_root.iterdir())


def test_bad_requests_get_json_errors(server: Served) -> None:
    with server.client() as client:
        cases = [
            client.post("/pipelines", content=b"{not json", headers={
                "Content-Type": "application/json"}),
            client.post("/pipelines", json=["a list"]),
            client.post("/pipelines", json={"dot": "digraph {}", "path": "x.dot"}),
            client.post("/pipelines", json={"dot": GATE_DOT, "interviewer": "queue:/etc/passwd"}),
            client.post("/pipelines", json={"dot": GATE_DOT, "set": {"a b": "c"}}),
            client.get("/no/such/page"),
            client.get("/pipelines/nope"),
            client.post("/pipelines", json={"dot": "x" * (2 << 20)}),
        ]
        assert [c.status_code for c in cases] == [400, 400, 400, 400, 400, 404, 404, 413]
        for response in cases:
            assert response.headers["content-type"] == "application/json"
            assert response.json()["error"] and "Traceback" not in response.text


def test_run_ids_and_paths_cannot_leave_the_runs_root(server: Served, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "manifest.json").write_text("{}")
    (outside / "p.dot").write_text(GATE_DOT)
    (server.runs_root / "linked").symlink_to(outside)
    with server.client() as client:
        for path in ("/pipelines/..", "/pipelines/%2e%2e", "/pipelines/..%2f..%2fetc",
                     "/pipelines/%2e%2e%2f%2e%2e/graph", "/pipelines/linked",
                     "/pipelines/linked/checkpoint", "/pipelines/.hidden",
                     "/pipelines/%2Fetc%2Fpasswd"):
            status, content_type, body = raw_get(server.url, path)
            assert status == 404, (path, body)
            assert content_type == "application/json"
        for given in (str(outside / "p.dot"), "../outside/p.dot", "linked/p.dot",
                      "%2e%2e/outside/p.dot"):
            response = client.post("/pipelines", json={"path": given})
            assert response.status_code in (403, 404), (given, response.text)
        assert "linked" not in {r["id"] for r in client.get("/pipelines").json()["runs"]}


def test_a_pipeline_file_under_the_runs_root_runs_with_overrides(server: Served) -> None:
    (server.runs_root / "pipelines").mkdir(exist_ok=True)
    (server.runs_root / "pipelines" / "gate.dot").write_text(GATE_DOT)
    with server.client() as client:
        response = client.post("/run", json={"path": "pipelines/gate.dot",
                                             "set": {"goal": "from the web"}})
        assert response.status_code == 201, response.text
        run_id = response.json()["id"]
        [question] = server.questions(client, run_id)
        answered = client.post("/answer", json={"id": run_id, "value": "Yes"})
        assert answered.status_code == 200 and answered.json()["id"] == question["id"]
        run = server.wait_for(client, run_id, ("success",))
        assert client.get("/status", params={"id": run_id}).json()["state"] == "success"
        assert run["goal"] == "from the web"
        context = client.get(f"/pipelines/{run_id}/context").json()["context"]
        assert context["graph.goal"] == "from the web"
        checkpoint = client.get(f"/pipelines/{run_id}/checkpoint").json()
        assert "ask" in checkpoint["completed_nodes"]
        stage = client.get(f"/pipelines/{run_id}/stages/work").json()
        assert "working" in stage["files"]["stdout.log"]


def test_a_wrong_answer_is_refused_and_a_gate_is_answered_once(server: Served) -> None:
    with server.client() as client:
        run_id = server.start(client, GATE_DOT)
        [question] = server.questions(client, run_id)
        url = f"/pipelines/{run_id}/questions/{question['id']}/answer"
        wrong = client.post(url, json={"value": "Maybe"})
        assert wrong.status_code == 422 and "Y ([Y] Yes)" in wrong.json()["error"]
        assert client.post(url, json={"value": "y"}).status_code == 200
        again = client.post(url, json={"value": "Y"})
        assert again.status_code in (404, 409)
        unknown = client.post(f"/pipelines/{run_id}/questions/q-000000000000/answer",
                              json={"value": "Y"})
        assert unknown.status_code == 404
        server.wait_for(client, run_id, ("success",))


def test_a_gate_timeout_still_takes_the_default(server: Served) -> None:
    dot = GATE_DOT.replace('label="Ship it?"',
                           'label="Ship it?", timeout="1s", human.default_choice="done"')
    with server.client() as client:
        run_id = server.start(client, dot)
        server.wait_for(client, run_id, ("success",))
        assert client.get(f"/pipelines/{run_id}/questions").json()["questions"] == []
    assert any(e["event"] == "interview_timeout" for e in server.progress(run_id))


def test_parallel_gates_are_answered_independently(server: Served) -> None:
    dot = """digraph Two {
      start [shape=Mdiamond]
      fan [shape=component]
      left [shape=hexagon, label="Left?"]
      right [shape=hexagon, label="Right?"]
      lok [shape=parallelogram, tool_command="echo left"]
      rok [shape=parallelogram, tool_command="echo right"]
      join [shape=tripleoctagon]
      exit [shape=Msquare]
      start -> fan
      fan -> left
      fan -> right
      left -> lok [label="[A] Accept"]
      right -> rok [label="[B] Bless"]
      lok -> join
      rok -> join
      join -> exit
    }"""
    with server.client() as client:
        run_id = server.start(client, dot)
        questions = server.questions(client, run_id, count=2)
        by_stage = {q["stage"]: q for q in questions}
        assert set(by_stage) == {"left", "right"}
        for stage, key in (("right", "B"), ("left", "A")):
            qid = by_stage[stage]["id"]
            response = client.post(f"/pipelines/{run_id}/questions/{qid}/answer",
                                   json={"value": key})
            assert response.status_code == 200
        server.wait_for(client, run_id, ("success",))


def test_cancel_stops_a_server_run_and_leaves_no_process(server: Served) -> None:
    marker = "31.4159"
    with server.client() as client:
        run_id = server.start(client, SLOW_DOT % marker)
        server.wait_for(client, run_id, ("running",))
        wait_until(lambda: process_running(f"sleep {marker}"))
        response = client.post(f"/pipelines/{run_id}/cancel")
        assert response.status_code == 200, response.text
        run = server.wait_for(client, run_id, ("canceled",))
        assert "resume" in run["explanation"]
        final = json.loads((server.runs_root / run_id / "final.json").read_text())
        assert final["status"] == "canceled"
        assert not process_running(f"sleep {marker}")
        assert client.post(f"/pipelines/{run_id}/cancel").status_code == 409
        # Canceled runs resume, here from the web.
        resumed = client.post(f"/pipelines/{run_id}/resume")
        assert resumed.status_code == 200, resumed.text
        server.wait_for(client, run_id, ("running",))
        assert client.post(f"/pipelines/{run_id}/cancel").status_code == 200
        server.wait_for(client, run_id, ("canceled",))


def test_cancel_reaches_a_run_started_from_the_cli(server: Served) -> None:
    marker = "27.1828"
    dot = server.runs_root.parent / "slow.dot"
    dot.write_text(SLOW_DOT % marker)
    run_dir = server.runs_root / "from-cli"
    cli = subprocess.Popen([sys.executable, "-m", "attractor_core", "run", str(dot),
                            "--logs-root", str(run_dir), "--run-id", "from-cli", "--quiet",
                            "--workdir", str(server.runs_root.parent)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with server.client() as client:
            wait_until(lambda: process_running(f"sleep {marker}"))
            assert client.get("/pipelines/from-cli").json()["state"] == "running"
            # Its events stream like a server run's (history so far, then live).
            with connect_sse(client, "GET", "/pipelines/from-cli/events") as source:
                first = next(source.iter_sse())
            assert first.id == "1" and json.loads(first.data)["event"] == "run_started"
            response = client.post("/pipelines/from-cli/cancel")
            assert response.status_code == 200, response.text
            assert response.json()["pid"] == cli.pid
            assert cli.wait(timeout=30) == 3
            assert client.get("/pipelines/from-cli").json()["state"] == "canceled"
        assert not process_running(f"sleep {marker}")
    finally:
        if cli.poll() is None:
            cli.kill()
        cli.wait()
        cli.stdout.close()  # type: ignore[union-attr]
        cli.stderr.close()  # type: ignore[union-attr]


def test_the_graph_is_coloured_by_node_state(server: Served, tmp_path: Path) -> None:
    dot = GATE_DOT.replace('goal="ship the web gate"',
                           'goal="ship"\n  node [timeout="900s"]')
    with server.client() as client:
        run_id = server.start(client, dot, interviewer="auto")
        server.wait_for(client, run_id, ("success",))
        svg = client.get(f"/pipelines/{run_id}/graph")
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
        png = client.get(f"/pipelines/{run_id}/graph", params={"format": "png"})
        assert png.content.startswith(b"\x89PNG")
    text = svg.text
    assert "<svg" in text and "state&#45;succeeded" in text and "#c9efc9" in text
    assert "<title>work</title>" in text and "#f5b7b1" not in text
    failing = GATE_DOT.replace('tool_command="echo working"', 'tool_command="exit 7"')
    with server.client() as client:
        failed_id = server.start(client, failing, interviewer="auto")
        server.wait_for(client, failed_id, ("fail",))
        failed_svg = client.get(f"/pipelines/{failed_id}/graph").text
    assert "state&#45;failed" in failed_svg and "#f5b7b1" in failed_svg
    assert "state&#45;pending" in failed_svg  # the gate and the exit never ran
    # The same picture from the CLI, with the run's states.
    out = tmp_path / "g.svg"
    done = subprocess.run([sys.executable, "-m", "attractor_core", "render",
                           str(server.runs_root / run_id / "graph.dot"), "-o", str(out),
                           "--logs-root", str(server.runs_root / run_id)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "#c9efc9" in out.read_text()
    bad = subprocess.run([sys.executable, "-m", "attractor_core", "render",
                          str(server.runs_root / run_id / "graph.dot"), "-o", "g.gif"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "svg or .png" in bad.stderr and "Traceback" not in bad.stderr


def test_a_run_its_process_refuses_is_listed_with_the_reason(server: Served) -> None:
    with server.client() as client:
        run_id = server.start(client, GATE_DOT.replace('shape=parallelogram', 'shape=box'),
                              backend="no-such-backend")
        run = server.wait_for(client, run_id, ("refused",))
    assert "no-such-backend" in run["explanation"]


def test_a_stage_that_succeeds_on_its_second_attempt_is_coloured_retried(
        server: Served, tmp_path: Path) -> None:
    dot = flaky_dot(tmp_path / "tried-once")
    with server.client() as client:
        run_id = server.start(client, dot)
        server.wait_for(client, run_id, ("success",))
        svg = client.get(f"/pipelines/{run_id}/graph").text
    ends = [(e["node_id"], e["attempt"], e["status"]) for e in server.progress(run_id)
            if e["event"] == "stage_attempt_end" and e["node_id"] == "flaky"]
    assert [attempt for _, attempt, _ in ends] == [1, 2]
    assert ends[-1][2] == "success" and ends[0][2] != "success"
    drawn = re.findall(r'class="node state&#45;(\w+)">\s*<title>(\w+)</title>', svg)
    by_node = {node: state for state, node in drawn}
    assert by_node == {"start": "succeeded", "first": "succeeded", "flaky": "retried",
                       "never": "pending", "done": "succeeded"}, svg
    assert "#fcd7a4" in svg and "#f5b7b1" not in svg
