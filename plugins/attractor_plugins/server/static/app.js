// The attractor web UI: plain JavaScript, no build step. State comes from the JSON API;
// the run page follows the run's SSE stream and recolours the graph from its events.
"use strict";
const attractor = (() => {
  const csrf = () => {
    const m = document.cookie.match(/(?:^|; )attractor_csrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  };
  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
  }
  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST", body: JSON.stringify(body || {}),
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    });
    return { ok: r.ok, body: await r.json() };
  }
  const text = (tag, value, cls) => {
    const el = document.createElement(tag);
    el.textContent = value == null ? "" : String(value);
    if (cls) el.className = cls;
    return el;
  };
  const duration = (ms) => (ms == null ? "" : ms < 1000 ? `${ms} ms` :
    ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60000)} min`);

  async function runsPage() {
    const tbody = document.querySelector("#runs tbody");
    async function refresh() {
      const { runs } = await getJSON("/pipelines");
      tbody.replaceChildren(...runs.map((run) => {
        const tr = document.createElement("tr");
        const link = document.createElement("a");
        link.href = `/runs/${encodeURIComponent(run.id)}`;
        link.textContent = run.id;
        const first = document.createElement("td");
        first.append(link);
        const since = run.duration_ms ?? (run.started_at ? Date.now() - Date.parse(run.started_at) : null);
        tr.append(first, text("td", run.graph_name), text("td", run.state, `state state-${run.state}`),
          text("td", duration(since)), text("td", run.current_node), text("td", run.started_at));
        return tr;
      }));
      document.getElementById("empty").hidden = runs.length > 0;
    }
    await refresh();
    setInterval(refresh, 2000);
  }

  function runPage() {
    const id = decodeURIComponent(location.pathname.split("/").pop());
    const base = `/pipelines/${encodeURIComponent(id)}`;
    document.getElementById("run-id").textContent = id;
    document.title = `attractor run ${id}`;
    const nodeStates = {};
    const log = document.getElementById("log");
    const count = document.getElementById("event-count");
    let shown = 0;

    function stateOf(ev) {
      if (ev.event === "stage_attempt_start") return "running";
      if (ev.event !== "stage_attempt_end") return null;
      if (["success", "partial_success", "skipped"].includes(ev.status))
        return ev.attempt > 1 ? "retried" : "succeeded";
      return ev.status === "retry" ? "retried" : "failed";
    }
    // The stages in the order they first started, with their state and attempt count.
    const stages = new Map();
    let selected = null;
    function listStages() {
      const list = document.getElementById("stages");
      list.replaceChildren(...[...stages].map(([node, info]) => {
        const li = document.createElement("li");
        li.dataset.node = node;
        li.dataset.state = info.state;
        li.className = `stage-item live-${info.state}${node === selected ? " selected" : ""}`;
        const b = document.createElement("button");
        b.append(text("span", node, "stage-node"), " ", text("span", info.state, "stage-state"));
        if (info.attempts > 1) b.append(" ", text("small", `attempt ${info.attempts}`));
        b.addEventListener("click", () => showStage(node));
        li.append(b);
        return li;
      }));
      document.getElementById("no-stages").hidden = stages.size > 0;
    }
    function noteStage(ev, state) {
      const info = stages.get(ev.node_id) || { state, attempts: 0 };
      info.state = state;
      if (ev.event === "stage_attempt_start") info.attempts = ev.attempt || 1;
      stages.set(ev.node_id, info);
      listStages();
      // The open stage's files change while it runs and when it ends: show the new ones.
      if (ev.node_id === selected && ev.event === "stage_attempt_end") showStage(selected);
    }
    function paint() {
      for (const g of document.querySelectorAll("#graph g.node")) {
        const name = g.querySelector("title")?.textContent;
        g.classList.remove("live-running", "live-succeeded", "live-failed", "live-retried");
        if (nodeStates[name]) g.classList.add(`live-${nodeStates[name]}`);
        g.dataset.state = nodeStates[name] || "pending";
      }
    }
    async function loadGraph() {
      const r = await fetch(`${base}/graph`);
      if (!r.ok) return;
      document.getElementById("graph").innerHTML = await r.text();
      for (const g of document.querySelectorAll("#graph g.node")) {
        g.addEventListener("click", () => showStage(g.querySelector("title").textContent));
      }
      paint();
    }
    async function showStage(node) {
      selected = node;
      listStages();
      document.getElementById("stage-name").textContent = node;
      const box = document.getElementById("stage");
      const r = await fetch(`${base}/stages/${encodeURIComponent(node)}`);
      const body = await r.json();
      if (!r.ok) { box.replaceChildren(text("p", body.error)); return; }
      const parts = Object.entries(body.files).flatMap(([name, content]) =>
        [text("h3", name), text("pre", content, "file")]);
      box.replaceChildren(...(parts.length ? parts : [text("p", "No files yet.")]));
    }
    async function refreshRun() {
      const run = await getJSON(base);
      const state = document.getElementById("state");
      state.textContent = run.state;
      state.className = `state state-${run.state}`;
      document.getElementById("current").textContent =
        run.current_node && run.state === "running" ? `at ${run.current_node}` : "";
      const explanation = document.getElementById("explanation");
      explanation.textContent = run.explanation || "";
      explanation.hidden = !run.explanation;
      document.getElementById("cancel").hidden = !["running", "starting"].includes(run.state);
      return run;
    }
    async function refreshGates() {
      const { questions } = await getJSON(`${base}/questions`);
      const box = document.getElementById("gates");
      box.replaceChildren(...questions.map((q) => {
        const div = document.createElement("div");
        div.className = "gate";
        div.dataset.question = q.id;
        div.append(text("p", `${q.stage}: ${q.text}`));
        for (const opt of q.options) {
          const b = document.createElement("button");
          b.append(text("kbd", opt.key), ` ${opt.label}`);
          b.dataset.key = opt.key;
          b.addEventListener("click", async () => {
            b.disabled = true;
            const r = await post(`${base}/questions/${q.id}/answer`, { value: opt.key });
            if (!r.ok) alert(r.body.error);
            refreshGates();
          });
          div.append(b);
        }
        return div;
      }));
    }
    document.addEventListener("keydown", (e) => {
      const gate = document.querySelector("#gates .gate");
      if (!gate || e.target.tagName === "INPUT") return;
      const b = [...gate.querySelectorAll("button")].find(
        (x) => x.dataset.key.toLowerCase() === e.key.toLowerCase());
      if (b) b.click();
    });
    document.getElementById("cancel").addEventListener("click", async () => {
      const r = await post(`${base}/cancel`);
      if (!r.ok) alert(r.body.error);
    });

    function follow() {
      const source = new EventSource(`${base}/events`);
      source.onmessage = (m) => {
        // The server sends each event once; a reconnect resumes after Last-Event-ID.
        const seq = Number(m.lastEventId);
        const ev = JSON.parse(m.data);
        const line = document.createElement("div");
        line.className = "event";
        line.dataset.seq = String(seq);
        line.textContent = `${seq} ${ev.ts} ${ev.event}${ev.node_id ? " " + ev.node_id : ""}` +
          `${ev.status ? " " + ev.status : ""}`;
        log.append(line);
        log.scrollTop = log.scrollHeight;
        shown += 1;
        count.textContent = String(shown);
        const s = stateOf(ev);
        if (s && ev.node_id) { nodeStates[ev.node_id] = s; paint(); noteStage(ev, s); }
        // The gate parks its question just after announcing it: look again shortly after.
        if (ev.event.startsWith("interview")) [0, 250, 1000].forEach((ms) => setTimeout(refreshGates, ms));
        if (ev.event === "stage_attempt_end" || ev.event.startsWith("run_")) refreshRun();
      };
      source.addEventListener("end", () => {
        source.close();
        document.body.dataset.stream = "ended";
        refreshRun();
        refreshGates();
      });
    }
    loadGraph().then(follow);
    refreshRun();
    refreshGates();
    setInterval(() => { refreshRun(); refreshGates(); }, 3000);
  }
  return { runsPage, runPage };
})();
