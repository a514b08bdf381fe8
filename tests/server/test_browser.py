"""The web UI in a real browser: Debian's chromium driven by playwright (one per module).

Screenshots of the run page are kept in each test's tmp_path.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from .conftest import GATE_DOT, SLOW_DOT, Served, flaky_dot

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STEPS_DOT = """digraph Steps {
  start [shape=Mdiamond]
%s
  done [shape=Msquare]
  start -> %s -> done
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def shown_seqs(page: Page) -> list[int]:
    values: list[Any] = page.eval_on_selector_all("#log .event", "els => els.map(e => e.dataset.seq)")
    return [int(v) for v in values]


def test_a_gate_is_answered_by_clicking_its_option(server: Served, page: Page,
                                                   tmp_path: Path) -> None:
    with server.client() as client:
        run_id = server.start(client, GATE_DOT)
    page.goto(f"{server.url}/runs/{run_id}")
    yes = page.locator("#gates .gate button[data-key='Y']")
    expect(yes).to_be_visible(timeout=60_000)
    expect(page.locator("#gates .gate")).to_contain_text("Ship it?")
    expect(page.locator("#gates kbd").first).to_have_text("Y")
    expect(page.locator("#graph g.node[data-state='running']")).to_have_count(1)
    # The stage list follows the stream: the gate is running, the stages before it are done.
    expect(page.locator("#stages li[data-node='ask']")).to_have_attribute("data-state", "running")
    expect(page.locator("#stages li[data-node='work']")).to_have_attribute(
        "data-state", "succeeded")
    page.locator("#stages li[data-node='ask'] button").click()
    expect(page.locator("#stage-name")).to_have_text("ask")
    expect(page.locator("#stage")).not_to_contain_text("status.json")  # still waiting
    page.screenshot(path=str(tmp_path / "run-page-gate.png"), full_page=True)
    yes.click()
    expect(page.locator("#state")).to_have_text("success", timeout=60_000)
    expect(page.locator("#explanation")).to_contain_text("The run succeeded")
    expect(page.locator("#gates .gate")).to_have_count(0)
    expect(page.locator("#graph g.node[data-state='succeeded']")).to_have_count(4)
    fill = page.eval_on_selector("#graph g.node[data-state='succeeded'] polygon",
                                 "el => getComputedStyle(el).fill")
    assert fill == "rgb(201, 239, 201)"
    # The open stage's details were refreshed when it ended: its status.json is there.
    expect(page.locator("#stage")).to_contain_text("status.json")
    expect(page.locator("#stages li[data-node='ask']")).to_have_attribute(
        "data-state", "succeeded")
    listed = page.eval_on_selector_all("#stages li", "els => els.map(e => e.dataset.node)")
    assert listed == ["start", "work", "ask", "done"]
    page.locator("#stages li[data-node='work'] button").click()
    expect(page.locator("#stage-name")).to_have_text("work")
    expect(page.locator("#stage")).to_contain_text("stdout.log")
    expect(page.locator("#stage")).to_contain_text("working")
    page.locator("#graph g.node", has_text="work").click()
    expect(page.locator("#stage")).to_contain_text("stdout.log")
    expect(page.locator("#stage")).to_contain_text("working")
    page.screenshot(path=str(tmp_path / "run-page-done.png"), full_page=True)
    page.goto(server.url + "/")
    row = page.locator("#runs tbody tr", has_text=run_id)
    expect(row).to_contain_text("success")
    expect(row).to_contain_text("Gate")


def test_the_cancel_button_cancels_the_run(server: Served, page: Page, tmp_path: Path) -> None:
    with server.client() as client:
        run_id = server.start(client, SLOW_DOT % "41.2")
        server.wait_for(client, run_id, ("running",))
    page.goto(f"{server.url}/runs/{run_id}")
    button = page.locator("#cancel")
    expect(button).to_be_visible(timeout=30_000)
    expect(page.locator("#log")).to_contain_text("wait", timeout=30_000)
    button.click()
    expect(page.locator("#state")).to_have_text("canceled", timeout=60_000)
    page.screenshot(path=str(tmp_path / "run-page-canceled.png"), full_page=True)
    final = json.loads((server.runs_root / run_id / "final.json").read_text())
    assert final["status"] == "canceled"


def test_a_reload_mid_run_loses_no_event(server: Served, page: Page, tmp_path: Path) -> None:
    names = [f"s{i}" for i in range(8)]
    nodes = "\n".join(f'  {n} [shape=parallelogram, tool_command="sleep 0.3"]' for n in names)
    with server.client() as client:
        run_id = server.start(client, STEPS_DOT % (nodes, " -> ".join(names)))
    page.goto(f"{server.url}/runs/{run_id}")
    expect(page.locator("#log")).to_contain_text("s2", timeout=60_000)
    before = shown_seqs(page)
    page.reload()
    expect(page.locator("body[data-stream='ended']")).to_have_count(1, timeout=60_000)
    page.screenshot(path=str(tmp_path / "run-page-reloaded.png"), full_page=True)
    after = shown_seqs(page)
    on_disk = [e["seq"] for e in server.progress(run_id)]
    assert after == on_disk
    assert before == on_disk[:len(before)] and len(before) < len(on_disk)


def test_a_retried_stage_is_listed_and_drawn_retried(server: Served, page: Page,
                                                     tmp_path: Path) -> None:
    with server.client() as client:
        run_id = server.start(client, flaky_dot(tmp_path / "tried-once"))
    page.goto(f"{server.url}/runs/{run_id}")
    expect(page.locator("#state")).to_have_text("success", timeout=60_000)
    flaky = page.locator("#stages li[data-node='flaky']")
    expect(flaky).to_have_attribute("data-state", "retried")
    expect(flaky).to_contain_text("attempt 2")
    expect(page.locator("#graph g.node[data-state='retried']")).to_have_count(1)
    expect(page.locator("#stages li[data-node='never']")).to_have_count(0)
    flaky.locator("button").click()
    expect(page.locator("#stage")).to_contain_text("second")
    page.screenshot(path=str(tmp_path / "run-page-retried.png"), full_page=True)
