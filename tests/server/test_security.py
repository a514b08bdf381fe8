"""Who may use the server: loopback by default, tokens elsewhere, cookies, CSRF, hosts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import GATE_DOT, Served, start_server, stop_server


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Bound to another loopback address than 127.0.0.1: a token is generated and printed."""
    served = start_server(tmp_path_factory.mktemp("guarded"), "--host", "127.0.0.2")
    try:
        yield served
    finally:
        stop_server(served)


def test_any_other_bind_needs_the_generated_token(guarded: Served) -> None:
    assert guarded.token and guarded.url.startswith("http://127.0.0.2:")
    with guarded.client() as client:
        refused = client.get("/pipelines")
        assert refused.status_code == 401 and "Bearer" in refused.json()["error"]
        wrong = client.get("/pipelines", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        page = client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login"
    auth = {"Authorization": f"Bearer {guarded.token}"}
    with guarded.client(headers=auth) as client:
        assert client.get("/pipelines").status_code == 200
        # Bearer requests are not cookie-driven: no CSRF token needed.
        run_id = guarded.start(client, GATE_DOT, interviewer="auto")
        guarded.wait_for(client, run_id, ("success",))


def test_the_login_form_sets_a_strict_httponly_cookie_and_csrf_applies(guarded: Served) -> None:
    with guarded.client() as client:
        assert client.get("/login").status_code == 200
        bad = client.post("/login", data={"token": "wrong"})
        assert bad.status_code == 401
        ok = client.post("/login", data={"token": guarded.token})
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"]
        assert "attractor_session=" in cookie and guarded.token not in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        page = client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 200
        csrf = client.cookies["attractor_csrf"]
        assert client.get("/pipelines").status_code == 200
        # A state-changing request riding on the cookie needs the CSRF header.
        body = {"dot": GATE_DOT, "interviewer": "auto"}
        assert client.post("/pipelines", json=body).status_code == 403
        wrong = client.post("/pipelines", json=body, headers={"X-CSRF-Token": "x"})
        assert wrong.status_code == 403
        ok_run = client.post("/pipelines", json=body, headers={"X-CSRF-Token": csrf})
        assert ok_run.status_code == 201, ok_run.text
        foreign = client.post("/pipelines", json=body, headers={
            "X-CSRF-Token": csrf, "Origin": "http://evil.example"})
        assert foreign.status_code == 403 and "cross-origin" in foreign.json()["error"]
        guarded.wait_for(client, ok_run.json()["id"], ("success",))


def test_a_token_file_guards_loopback_and_allow_path_admits_a_directory(
        tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret-token\n")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "gate.dot").write_text(GATE_DOT)
    (tmp_path / "elsewhere.dot").write_text(GATE_DOT)
    served = start_server(tmp_path, "--token-file", str(tmp_path / "token"),
                          "--allow-path", str(tmp_path / "pipelines"))
    try:
        assert served.token is None
        with served.client() as client:
            assert client.get("/pipelines").status_code == 401
        with served.client(headers={"Authorization": "Bearer s3cret-token"}) as client:
            assert client.get("/pipelines").status_code == 200
            allowed = client.post("/pipelines", json={
                "path": str(tmp_path / "pipelines" / "gate.dot"), "interviewer": "auto"})
            assert allowed.status_code == 201, allowed.text
            outside = client.post("/pipelines", json={"path": str(tmp_path / "elsewhere.dot")})
            assert outside.status_code == 403 and "--allow-path" in outside.json()["error"]
            served.wait_for(client, allowed.json()["id"], ("success",))
    finally:
        stop_server(served)


def test_loopback_without_token_refuses_cross_site_and_foreign_hosts(server: Served) -> None:
    with server.client() as client:
        assert client.get("/pipelines").status_code == 200
        rebound = client.get("/pipelines", headers={"Host": "attacker.example"})
        assert rebound.status_code == 421
        cross = client.post("/pipelines", json={"dot": GATE_DOT},
                            headers={"Origin": "http://attacker.example"})
        assert cross.status_code == 403
        fetch = client.post("/pipelines", json={"dot": GATE_DOT},
                            headers={"Sec-Fetch-Site": "cross-site"})
        assert fetch.status_code == 403
        # A browser on the server's own page must still send the CSRF header.
        same = client.post("/pipelines", json={"dot": GATE_DOT},
                           headers={"Origin": server.url})
        assert same.status_code == 403 and "x-csrf-token" in same.json()["error"]


def test_an_empty_token_file_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "token").write_text("\n")
    done = subprocess.run([sys.executable, "-m", "attractor_core", "serve", "--token-file",
                           str(tmp_path / "token"), "--port", "0"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "empty" in done.stderr and "Traceback" not in done.stderr
