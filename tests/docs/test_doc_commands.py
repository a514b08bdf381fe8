"""Every command shown in docs/tutorial.md, docs/cli.md and examples/README.md, run as written.

Each scenario walks its document block by block (see ``doc_blocks``): files are written as the
prose says, shell blocks run in a temporary directory with this checkout's ``attractor``, and
printed output shown in the document is compared exactly. A block the scenario does not expect,
or one left over, fails the test, so a command added to a document must be tested too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

import trio

from tests.llm.fake_server import FakeProvider, Reply, wire_stream

from .doc_blocks import REPO, Block, Script, run_block, shell_env

TUTORIAL = REPO / "docs" / "tutorial.md"
CLI = REPO / "docs" / "cli.md"
EXAMPLES = REPO / "examples" / "README.md"


def check_network_block(block: Block) -> None:
    """Commands that need the network are not run; what they name must exist."""
    for command in block.commands:
        words = shlex.split(command, comments=True)
        if words[:2] == ["pip", "install"]:
            paths = [w for w in words[2:] if w != "-e"]
            assert paths and all((REPO / p / "pyproject.toml").exists() for p in paths), command
        elif words[:2] == ["nox", "-s"]:
            noxfile = (REPO / "noxfile.py").read_text()
            assert f"def {words[2]}(session" in noxfile, command
        elif words[:3] == ["python3", "-m", "venv"]:
            assert "&& . .venv/bin/activate" in command
        else:
            raise AssertionError(f"no check for the network command {command!r}")


def revise(dot: str, snippet: str) -> str:
    """Apply a tutorial snippet: its node lines replace the node of the same id (new ones
    follow), its edge lines replace the file's edges."""
    nodes = [line for line in snippet.splitlines() if "[shape" in line]
    edges = [line for line in snippet.splitlines() if "->" in line]
    ids = {line.split()[0] for line in nodes}
    out: list[str] = []
    for line in dot.splitlines():
        words = line.split()
        if words and words[0] in ids and "[" in line:
            out += nodes
            nodes = []
        elif "->" in line:
            out += edges
            edges = []
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def final(logs: Path) -> dict:
    return json.loads((logs / "final.json").read_text())


async def interrupt_when_started(block: Block, cwd: Path, env: dict[str, str], logs: Path,
                                 node: str) -> int:
    """Run the block and press Ctrl-C (SIGINT to its process group) once ``node`` runs."""
    process = await trio.lowlevel.open_process(["bash", "-e", "-c", block.body], cwd=cwd,
                                               env=env, start_new_session=True,
                                               stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL)
    with trio.fail_after(60):
        while f'"node_id":"{node}"' not in _read(logs / "progress.ndjson"):
            await trio.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        return await process.wait()


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


async def test_tutorial_as_written(tmp_path: Path, fake: FakeProvider) -> None:
    doc, prose, env = Script(TUTORIAL), TUTORIAL.read_text(), shell_env()
    check_network_block(doc.take("sh network"))

    # 1-2. hello.dot validates; a misspelt edge target prints what the tutorial shows.
    hello = doc.take("dot").body
    dot_file = tmp_path / "hello.dot"
    dot_file.write_text(hello)
    validate = doc.take("sh", "attractor validate hello.dot")
    done = await run_block(validate, tmp_path, env)
    assert done.returncode == 0
    assert done.stdout.endswith("hello.dot: valid (0 errors, 2 warnings)\n")
    assert [line.split()[2].rstrip(":") for line in done.stdout.splitlines() if " warning " in line] == [
        "failure_route", "failure_route"]
    assert "ends with `hello.dot: valid (0 errors, 2 warnings)`" in prose
    dot_file.write_text(hello.replace("check -> summarize", "check -> sumarize"))
    done = await run_block(validate, tmp_path, env)
    assert "`check -> sumarize`" in prose
    assert done.returncode == 1 and done.stdout == doc.take("text").body, done.stdout
    dot_file.write_text(hello)

    # 3. Run it, look at what it left.
    done = await run_block(doc.take("sh", "mkdir work"), tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^run \S+: success", done.stdout, re.MULTILINE), done.stdout
    done = await run_block(doc.take("sh", "cat work/greeting.txt"), tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("hello, world\n")
    listed = "manifest.json graph.dot checkpoint.json progress.ndjson final.json"
    assert listed in prose and all(name in done.stdout for name in listed.split())
    assert final(tmp_path / "runs" / "hello")["status"] == "success"

    # 4. Failures route: check fails, fix runs, check passes.
    dot_file.write_text(revise(hello, doc.take("dot").body))
    done = await run_block(doc.take("sh", "attractor run hello.dot --workdir work --logs-root "
                                          "runs/fix"), tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fix" in final(tmp_path / "runs" / "fix")["completed_nodes"]

    # 5. Interrupt and resume, with the nap stage the prose adds.
    nap = 'nap [shape=parallelogram, tool_command="sleep 10"]'
    assert f"`{nap}`" in prose and "(`start -> write -> nap -> check`)" in prose
    text = dot_file.read_text().replace("start -> write -> check", "start -> write -> nap -> check")
    dot_file.write_text(text.replace("  fix ", f"  {nap}\n  fix ", 1))
    logs = tmp_path / "runs" / "nap"
    run = doc.take("sh", "attractor run hello.dot --workdir work --logs-root runs/nap")
    assert await interrupt_when_started(run, tmp_path, env, logs, "nap") == 3
    assert final(logs)["status"] == "canceled"
    done = await run_block(doc.take("sh", "attractor resume --logs-root runs/nap"), tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert final(logs)["status"] == "success"

    # 7. Fan out: the branches' logs are where the tutorial says.
    fan = tmp_path / "fan.dot"
    fan.write_text("digraph fan {\n  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
                   + doc.take("dot").body + "}\n")
    done = await run_block(Block("sh", "attractor run fan.dot --logs-root runs/fan\n", 0),
                           tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "`runs/<id>/parallel/par/pass-1/1-lint/` and `2-unit/`" in prose
    assert {p.name for p in (tmp_path / "runs/fan/parallel/par/pass-1").iterdir()} >= {
        "1-lint", "2-unit"}

    # 8. A human gate, answered by --interviewer auto with the first option.
    gate = tmp_path / "gate.dot"
    gate.write_text("digraph gate {\n  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
                    "  publish [shape=parallelogram, tool_command=true]\n"
                    "  fix [shape=parallelogram, tool_command=true]\n" + doc.take("dot").body
                    + "  start -> approve\n  publish -> exit\n  fix -> exit\n}\n")
    done = await run_block(Block("sh", "attractor run gate.dot --interviewer auto "
                                       "--logs-root runs/gate\n", 0), tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "publish" in final(tmp_path / "runs" / "gate")["completed_nodes"]

    # 9. A real LLM: only the key is set; the provider is openai with its default model.
    fake.always(Reply(sse=wire_stream("openai_responses", text=["Summary: ", "all good."])))
    block = doc.take("sh fake-provider", "export OPENAI_API_KEY=...")
    done = await run_block(block, tmp_path, shell_env(OPENAI_BASE_URL=f"{fake.url}/v1"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert fake.requests and {r.body["model"] for r in fake.requests} == {"gpt-5.2"}
    assert {r.headers.get("authorization") for r in fake.requests} == {"Bearer ..."}
    doc.done()


async def test_cli_reference_as_written(tmp_path: Path) -> None:
    doc, env = Script(CLI), shell_env()
    synopsis = doc.take("synopsis").body
    usages = re.split(r"\n(?=attractor )", synopsis.strip())
    # The synopsis shows every command `attractor --help` lists, in its order.
    listing = await run_block(Block("sh", "attractor --help\n", 0), tmp_path, env)
    listed = re.search(r"\{([a-z,-]+)\}", listing.stdout)
    assert listing.returncode == 0 and listed, listing.stdout + listing.stderr
    assert [u.split()[1] for u in usages] == [*listed.group(1).split(","), "--version"]
    assert listed.group(1).split(",")[:6] == ["validate", "run", "resume", "status", "stop",
                                              "runs"]
    version = await run_block(Block("sh", "attractor --version\n", 0), tmp_path, env)
    assert version.returncode == 0 and version.stdout.startswith("attractor "), version.stderr
    for usage in usages[:-1]:
        command = usage.split()[1]
        done = await run_block(Block("sh", f"attractor {command} --help\n", 0), tmp_path, env)
        assert done.returncode == 0, done.stderr
        for flag in set(re.findall(r"--[a-z][a-z-]*", usage)):
            assert flag in done.stdout, f"attractor {command}: {flag} is not in --help"

    # `run --detach` prints the keys shown, in that order, for a git-isolated run.
    shown_keys = [line.split(": ", 1)[0] for line in doc.take("text").body.splitlines()]
    await _detached_run_prints(shown_keys, tmp_path / "detached", env)

    config = tmp_path / "attractor.toml"
    config.write_text(doc.take("toml").body)
    (tmp_path / "p.dot").write_text('digraph P {\n  start [shape=Mdiamond]\n'
                                    '  exit [shape=Msquare]\n  start -> exit\n}\n')
    done = await run_block(Block("sh", "attractor run p.dot --config attractor.toml "
                                       "--logs-root logs\n", 0), tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((tmp_path / "logs" / "manifest.json").read_text())
    assert manifest["policy"] == {"stall_timeout": "20m", "stage_timeout": "1h",
                                  "kill_grace": "5s"}
    doc.done()


async def _detached_run_prints(keys: list[str], repo: Path, env: dict[str, str]) -> None:
    repo.mkdir()
    (repo / "p.dot").write_text('digraph P {\n  start [shape=Mdiamond]\n'
                                '  exit [shape=Msquare]\n  start -> exit\n}\n')
    setup = ("git init -q -b main && git -c user.name=t -c user.email=t@example.com commit "
             "-q --allow-empty -m base && echo p.dot > .gitignore && echo .gitignore >> "
             ".gitignore\n")
    assert (await run_block(Block("sh", setup, 0), repo, env)).returncode == 0
    done = await run_block(Block("sh", "attractor run p.dot --detach\n", 0), repo, env)
    assert done.returncode == 0, done.stderr
    assert [line.split(": ", 1)[0] for line in done.stdout.splitlines()] == keys
    logs_root = Path(dict(line.split(": ", 1) for line in done.stdout.splitlines())["logs_root"])
    with trio.fail_after(60):
        while not (logs_root / "final.json").exists():
            await trio.sleep(0.05)


async def test_examples_readme_as_written(tmp_path: Path) -> None:
    doc = Script(EXAMPLES)
    check_network_block(doc.take("sh network", "nox -s demo"))
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "demo.dot").write_text((REPO / "examples" / "demo.dot").read_text())
    block = doc.take("sh", "work=$(mktemp -d)")
    done = await run_block(block, tmp_path, shell_env(TMPDIR=str(tmp_path)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^run \S+: success", done.stdout, re.MULTILINE), done.stdout
    logs = next(tmp_path.glob("tmp.*/logs"))
    assert final(logs)["status"] == "success"
    assert (logs / "implement" / "attempt-1").is_dir() and (logs / "review" / "attempt-1").is_dir()
    assert (logs.parent / "RELEASE.txt").exists()
    doc.done()
