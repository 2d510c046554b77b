"""Time loading the 46-pack skillpacks marketplace: cold (empty parse cache) and warm.

Run: .venv/bin/python benchmarks/bench_load.py [PATH]   (default ../shared/corpora/skillpacks)
Each measurement runs in a fresh interpreter, so imports and caches are honest.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "corpora" / "skillpacks"

CHILD = """
import json, sys, time
start = time.perf_counter()
from skillsrv.packs import load_source
imported = time.perf_counter()
catalog = load_source(__import__("pathlib").Path(sys.argv[1]))
done = time.perf_counter()
print(json.dumps({"import_s": imported - start, "load_s": done - imported,
                  "packs": len(catalog.packs),
                  "sheets": sum(len(s.sheets) for p in catalog.packs for s in p.skills),
                  "torch_imported": "torch" in sys.modules}))
"""


def measure(path: Path, cache: str, runs: int) -> list[dict[str, float]]:
    env = {**os.environ, "SKILLSRV_CACHE_DIR": cache}
    return [json.loads(subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env,
                                      capture_output=True, text=True, check=True).stdout)
            for _ in range(runs)]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not path.exists():
        sys.exit(f"{path} not found")
    with tempfile.TemporaryDirectory() as cache:
        cold = measure(path, cache, 1)[0]
        warm = measure(path, cache, 5)
    print(f"source: {path}")
    print(f"packs {cold['packs']}, linked sheets {cold['sheets']}, "
          f"torch imported: {cold['torch_imported'] or any(r['torch_imported'] for r in warm)}")
    print(f"import skillsrv.packs: {cold['import_s']:.3f} s")
    print(f"load, cold parse cache: {cold['load_s']:.3f} s")
    loads = [r["load_s"] for r in warm]
    print(f"load, warm parse cache: median {statistics.median(loads):.3f} s "
          f"(min {min(loads):.3f}, max {max(loads):.3f}, {len(loads)} runs)")


if __name__ == "__main__":
    main()
