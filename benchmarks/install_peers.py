"""Install nerve and each peer of the `bench` extra one by one, skipping those that fail.

`make bench` runs this only when `pip install -e ".[bench]"` fails as a whole (a peer has no
wheel for this Python or platform, or the peers' pins conflict): nerve itself is installed
first, then each requirement of the extra alone, so the benchmark still runs with the peers
that did install (benchmarks/run.py notes the missing ones in its tables).

Run: .venv-bench/bin/python benchmarks/install_peers.py
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pip(*args: str) -> bool:
    return subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], cwd=ROOT, check=False).returncode == 0


def main() -> int:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["bench"]
    if not pip("-e", "."):
        print("install_peers: nerve itself did not install", file=sys.stderr)
        return 1
    for requirement in extra:
        ok = pip(requirement)
        print(f"install_peers: {requirement}: {'installed' if ok else 'FAILED, its peer will be skipped'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
