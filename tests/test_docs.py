"""The user guides' code runs: every ```python block of the docs below, and every `nerve ...` command parses.

Each document's python blocks run in order as one script, in a subprocess, in a
scratch folder, with `NERVE_MAX_EPOCHS=2` (every fit is cut to 2 epochs) and
matplotlib's Agg backend. A block that holds `if __name__ == "__main__":` is a
complete script of its own (e.g. `compare(..., n_jobs=2)`, whose worker processes
import the script) and runs alone. A block preceded by the line `<!-- not-run -->`
is skipped: it needs something the test machine lacks (a download, TensorFlow, a display).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND_DOCS = [ROOT / "README.md", ROOT / "docs" / "experiments.md", ROOT / "docs" / "ko" / "quickstart.md"]
DOCS = COMMAND_DOCS + [ROOT / "docs" / "distributed.md"]  # the last shows torchrun, not `nerve`, commands
SKIP_MARK = "<!-- not-run -->"
MAIN_GUARD = re.compile(r"^if __name__ == [\"']__main__[\"']:", re.MULTILINE)
FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def code_blocks(path: Path, language: str) -> list[tuple[int, str]]:
    """`(line number, code)` of each fenced block in `language`, except those marked not-run."""
    if not path.is_file():
        return []  # test_docs_have_code reports it
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        if match.group(1) != language:
            continue
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        if before == SKIP_MARK:
            continue
        blocks.append((text.count("\n", 0, match.start()) + 1, match.group(2)))
    return blocks


def scripts(path: Path) -> list[tuple[str, str]]:
    """`(name, source)`: the document's ordinary blocks joined into one script, then each main-guarded block."""
    ordinary, standalone = [], []
    for line, code in code_blocks(path, "python"):
        if MAIN_GUARD.search(code):
            standalone.append((f"{path.stem}_line{line}", code))
        else:
            ordinary.append(f"# --- {path.name}, line {line}\n{code}")
    out = [(path.stem, "\n".join(ordinary))] if ordinary else []
    return out + standalone


CASES = [(doc, name, source) for doc in DOCS for name, source in scripts(doc)]


def test_docs_have_code():
    assert all(doc.is_file() for doc in DOCS), [str(d) for d in DOCS if not d.is_file()]
    assert {doc for doc, _, _ in CASES} == set(DOCS)


@pytest.fixture(scope="module")
def launched(request, tmp_path_factory):
    """Start the selected scripts at once, each in its own scratch folder, so they overlap on a multi-core machine."""
    pytest.importorskip("matplotlib", reason="the docs plot with matplotlib (pip install '.[plot]')")
    pytest.importorskip("pandas", reason="the docs use DataFrames (pip install pandas)")
    env = {**os.environ, "NERVE_MAX_EPOCHS": "2", "NERVE_PROGRESS": "plain", "MPLBACKEND": "Agg",
           "PYTHONWARNINGS": "ignore"}
    selected = {item.callspec.params["name"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_doc_code_runs"}
    procs = {}
    for _, name, source in CASES:
        if name not in selected:
            continue
        folder = tmp_path_factory.mktemp(name)
        script = folder / f"{name}.py"
        script.write_text(source, encoding="utf-8")
        with open(folder / "stdout.txt", "w") as out, open(folder / "stderr.txt", "w") as err:  # no pipe to fill
            procs[name] = (subprocess.Popen([sys.executable, str(script)], cwd=folder, env=env, stdout=out,
                                            stderr=err), folder)
    yield procs
    for proc, _ in procs.values():  # only left running if a test failed early
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(("doc", "name"), [(doc, name) for doc, name, _ in CASES], ids=[n for _, n, _ in CASES])
def test_doc_code_runs(doc, name, launched):
    proc, folder = launched[name]
    proc.wait(timeout=300)
    stdout = (folder / "stdout.txt").read_text(encoding="utf-8", errors="replace")
    stderr = (folder / "stderr.txt").read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0, f"{doc.name}: {name} failed\n{stdout[-3000:]}\n{stderr[-5000:]}"


def nerve_commands(path: Path) -> list[list[str]]:
    """The `nerve ...` and `python -m nerve ...` lines of the document's ```bash blocks (continuations joined)."""
    commands = []
    for _, code in code_blocks(path, "bash"):
        for line in code.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words and "=" in words[0] and not words[0].startswith("-"):  # VAR=value nerve ...
                words = words[1:]
            program = Path(words[0]).name if words else ""
            if program == "nerve":  # nerve, .venv/bin/nerve
                commands.append(words[1:])
            elif program.startswith("python") and words[1:3] == ["-m", "nerve"]:
                commands.append(words[3:])
    return commands


@pytest.mark.parametrize("doc", COMMAND_DOCS, ids=[d.name for d in COMMAND_DOCS])
def test_doc_commands_parse(doc):
    from nerve.cli import build_parser

    commands = nerve_commands(doc)
    assert commands, f"{doc.name} shows no nerve command"
    parser = build_parser()
    for argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit as err:  # argparse exits: 0 after --help, 2 on a bad command line
            if err.code not in (0, None):
                pytest.fail(f"{doc.name}: `nerve {shlex.join(argv)}` does not parse (exit {err.code})")
