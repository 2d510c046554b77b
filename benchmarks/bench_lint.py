"""Time `skillsrv pack lint` over the 46-pack skillpacks marketplace: cold and warm parse cache.

Run: .venv/bin/python benchmarks/bench_lint.py [PATH]   (default ../shared/corpora/skillpacks)
Target: under 5 s. Each measurement is the whole command in a fresh interpreter
(`python -m skillsrv pack lint PATH --json`), so start-up, imports, loading, every
check and rendering are counted. Cold runs point SKILLSRV_CACHE_DIR at an empty folder; warm
runs reuse the folder the cold run filled.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "corpora" / "skillpacks"
TARGET_S = 5.0


def lint_once(path: Path, cache: str) -> tuple[float, dict[str, Any]]:
    env = {**os.environ, "SKILLSRV_CACHE_DIR": cache}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "skillsrv", "pack", "lint", str(path),
                           "--json"], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"lint failed ({done.returncode}): {done.stderr}")
    return elapsed, json.loads(done.stdout)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not path.exists():
        sys.exit(f"{path} not found")
    with tempfile.TemporaryDirectory() as cache:
        cold_s, report = lint_once(path, cache)
        warm = [lint_once(path, cache)[0] for _ in range(5)]
    summary = report["summary"]
    print(f"source: {path}")
    print(f"packs {summary['packs']}, files {summary['files']}: {summary['errors']} errors, "
          f"{summary['warnings']} warnings, {summary['infos']} infos")
    print("by code: " + ", ".join(f"{code} {n}" for code, n in summary["by_code"].items()))
    print(f"pack lint, cold parse cache: {cold_s:.2f} s wall "
          f"(lint itself {summary['seconds']:.2f} s)")
    print(f"pack lint, warm parse cache: median {statistics.median(warm):.2f} s wall "
          f"(min {min(warm):.2f}, max {max(warm):.2f}, {len(warm)} runs)")
    worst = max(cold_s, *warm)
    print(f"target < {TARGET_S:.0f} s: {'met' if worst < TARGET_S else 'MISSED'} "
          f"(worst {worst:.2f} s)")


if __name__ == "__main__":
    main()
