#!/usr/bin/env python3
"""Keeps the documentation true (run by scripts/test-docs, which builds the binaries first).

1. Every relative link in the Markdown files resolves: the file exists, and a `#anchor`
   names a heading of that file (GitHub's anchor rules).
2. Every shell block tagged with an HTML comment on the line before it runs and exits 0:

       <!-- docs-test: standalone -->   runs as is
       <!-- docs-test: with-mock -->    runs with a mock-glase already listening

   Each block runs with `bash -euo pipefail` in a fresh temporary folder that links the
   repository's `examples/`, `scenarios/` and `docs/`, with the release binaries first on
   PATH. Servers in tests listen on free ports: the ports the docs show (7070 the mock,
   7071 the reference reseller, 8000 your backend) are replaced by free ones in the
   block's text, and GLASE_MOCK_URL points `mock-glase customer` at the mock. Whatever the
   block leaves running (`cmd &`) is stopped with its process group afterwards.

Exit 0 when everything holds, 1 with every problem listed otherwise.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "target" / "release"
DOCS = ["README.md", "scenarios/README.md", "examples/python-vending/README.md"] + sorted(
    str(p.relative_to(REPO)) for p in (REPO / "docs").rglob("*.md")
)
TAG = re.compile(r"^<!-- docs-test: (standalone|with-mock) -->\s*$")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
BLOCK_TIMEOUT = 180


def anchors(path: Path) -> set:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found, fence, seen = set(), False, {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fence = not fence
        match = None if fence else re.match(r"^#{1,6} (.*)", line)
        if match:
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def check_links() -> list:
    problems = []
    for doc in DOCS:
        path = REPO / doc
        fence = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("```"):
                fence = not fence
            if fence:
                continue
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):
                    continue
                file, _, anchor = target.partition("#")
                resolved = (path.parent / file).resolve() if file else path
                if not resolved.exists():
                    problems.append(f"{doc}:{number}: link to {target}: {file} does not exist")
                elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                    problems.append(f"{doc}:{number}: link to {target}: no heading #{anchor} in {file or doc}")
    return problems


def blocks():
    """(file, line, kind, text) of every tagged shell block."""
    for doc in DOCS:
        lines = (REPO / doc).read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            tag = TAG.match(line)
            if not tag:
                continue
            if index + 1 >= len(lines) or not re.match(r"^```(sh|bash|shell)\s*$", lines[index + 1]):
                yield doc, index + 1, "untagged", "the tag must stand right above a ```sh block"
                continue
            end = next((j for j in range(index + 2, len(lines)) if lines[j].startswith("```")), len(lines))
            yield doc, index + 2, tag.group(1), "\n".join(lines[index + 2 : end]) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answers(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_block(doc: str, line: int, kind: str, text: str) -> str:
    """Runs one block; an empty string when it passed, else the problem with its output."""
    ports = {"7070": free_port(), "7071": free_port(), "8000": free_port()}
    for shown, port in ports.items():
        text = re.sub(rf"\b{shown}\b", str(port), text)
    work = Path(tempfile.mkdtemp(prefix="glase-docs-"))
    for name in ("examples", "scenarios", "docs"):
        (work / name).symlink_to(REPO / name)
    # A block's own `mock-glase &` listens where the mock's clients look (GLASE_MOCK_LISTEN).
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               GLASE_MOCK_URL=f"http://127.0.0.1:{ports['7070']}",
               GLASE_MOCK_LISTEN=f"127.0.0.1:{ports['7070']}")
    mock = None
    try:
        if kind == "with-mock":
            log = open(work / "mock.log", "wb")
            mock = subprocess.Popen([str(BIN / "mock-glase"), "--listen", f"127.0.0.1:{ports['7070']}"],
                                    cwd=work, env=env, stdout=log, stderr=log, start_new_session=True)
            if not wait_until_answers(f"http://127.0.0.1:{ports['7070']}/healthz", 20):
                return f"{doc}:{line}: the mock did not start:\n{(work / 'mock.log').read_text(errors='replace')}"
        # Output goes to a file, not a pipe: what the block leaves running (`cmd &`) keeps
        # its output open, and a pipe would not reach end-of-file until it stopped.
        output_path = work / "block.out"
        with open(output_path, "wb") as output:
            shell = subprocess.Popen(["bash", "-euo", "pipefail", "-c", text], cwd=work, env=env,
                                     stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            shell.wait(timeout=BLOCK_TIMEOUT)
            failure = f"exited {shell.returncode}" if shell.returncode != 0 else ""
        except subprocess.TimeoutExpired:
            failure = f"did not finish within {BLOCK_TIMEOUT} s"
        finally:
            stop(shell)
        if failure:
            tail = "\n".join(output_path.read_text(errors="replace").splitlines()[-30:])
            return f"{doc}:{line}: {failure}:\n{tail}"
        return ""
    finally:
        if mock is not None:
            stop(mock)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    for binary in ("glase-conformance", "mock-glase", "reference-reseller"):
        if not (BIN / binary).exists():
            print(f"docs-test: {BIN / binary} is missing: build the release binaries first (scripts/test-docs does)",
                  file=sys.stderr)
            return 2
    problems = check_links()
    print(f"docs-test: links in {len(DOCS)} files: {'ok' if not problems else f'{len(problems)} broken'}")
    count = 0
    for doc, line, kind, text in blocks():
        count += 1
        started = time.monotonic()
        problem = text if kind == "untagged" else run_block(doc, line, kind, text)
        state = "ok" if not problem else "FAILED"
        print(f"docs-test: {doc}:{line} ({kind}) {state} in {time.monotonic() - started:.1f} s")
        if problem:
            problems.append(problem if kind != "untagged" else f"{doc}:{line}: {problem}")
    if count == 0:
        problems.append("no tagged block found: the tag is <!-- docs-test: standalone|with-mock -->")
    for problem in problems:
        print(f"\n{problem}", file=sys.stderr)
    print(f"docs-test: {count} blocks run, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
