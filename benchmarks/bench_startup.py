"""Start-up time of `skillsrv serve` over stdio: from spawning the process to the first tool
answer (target: under 1 s on this machine).

    .venv/bin/python benchmarks/bench_startup.py [--runs 7] [--check] [-- serve options...]

Each run spawns a fresh server with a real MCP client (imported before timing starts, so only
the server's start-up and one round trip are measured), connects, calls `route_query` once,
and records when the answer arrives. Both protocol eras are measured: 2026-07-28 (`auto`)
and the legacy `initialize` handshake. Wall-clock times depend on what else the machine is
doing, so the server's own CPU time per run (start-up, one answer, shutdown; from the reaped
child's rusage) is printed too. For context, it also times a bare `import` of the server
module in a fresh interpreter: most of the start-up is the MCP SDK's own import. The package is
byte-compiled first, as an installed package is (this environment may set
PYTHONDONTWRITEBYTECODE, which would otherwise recompile skillsrv on every start).
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio
from mcp import StdioServerParameters
from mcp.client import Client

SKILLSRV = str(Path(sys.executable).parent / "skillsrv")
QUERY = "I have 20,000 labelled photos and one GPU; which CNN should I start from?"
TARGET_S = 1.0


async def first_answer(serve_args: list[str], mode: str) -> tuple[float, float]:
    """(seconds to a connected session, seconds to the first tool answer) after spawning."""

    params = StdioServerParameters(command=SKILLSRV, args=["serve", "--no-reload", *serve_args],
                                   env=dict(os.environ))
    started = time.perf_counter()
    async with Client(params, mode=mode) as client:
        connected = time.perf_counter()
        result = await client.call_tool("route_query", {"query": QUERY})
        answered = time.perf_counter()
    if result.is_error:
        raise SystemExit(f"route_query failed: {result.content}")
    return connected - started, answered - started


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_time() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import skillsrv.server.app"], check=True)
    return time.perf_counter() - started


def summary(values: list[float]) -> str:
    return (f"median {statistics.median(values):.3f} s  min {min(values):.3f} s  "
            f"max {max(values):.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 when the median first answer is over {TARGET_S} s")
    parser.add_argument("serve_args", nargs="*", help="options for `skillsrv serve`")
    args = parser.parse_args()

    import skillsrv

    compileall.compile_dir(Path(skillsrv.__file__).parent, quiet=1)
    print(f"skillsrv serve start-up, {args.runs} runs per era, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    imports = [import_time() for _ in range(args.runs)]
    print(f"  python -c 'import skillsrv.server.app'   {summary(imports)}")
    worst = 0.0
    for mode, label in (("auto", "2026-07-28"), ("legacy", "legacy handshake")):
        connects, answers, cpu = [], [], []
        for _ in range(args.runs):
            before = children_cpu()
            connected, answered = anyio.run(first_answer, args.serve_args, mode)
            cpu.append(children_cpu() - before)
            connects.append(connected)
            answers.append(answered)
        print(f"  {label:<17} connected      {summary(connects)}")
        print(f"  {label:<17} first answer   {summary(answers)}")
        print(f"  {label:<17} server CPU     {summary(cpu)}")
        worst = max(worst, statistics.median(answers))
    verdict = "within" if worst < TARGET_S else "OVER"
    print(f"  worst median first answer {worst:.3f} s: {verdict} the {TARGET_S:.0f} s target")
    return 1 if args.check and worst >= TARGET_S else 0


if __name__ == "__main__":
    sys.exit(main())
