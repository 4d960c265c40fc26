"""Engine overhead against a bare ProcessPoolExecutor doing the same calls.

    python benchmarks/engine.py [--repeat 5]

Prints medians of several runs for (a) a chain of 500 trivial nodes, (b) 1,000
independent trivial nodes fanned in to one, (c) (b) fully cached, (d) a whole
`plait run` process on a 10-node flow, cold; the scheduling process's
peak memory while a chain of 5 nodes passes 200 MB arrays along; and (e) how
long working out the cache keys takes for 1,000 nodes whose code reads a
100 MB module-level array (the array is hashed once, by identity); (f) the
Dask executor on a LocalCluster of 2 worker processes beside the local
executor with 2 workers: a chain of 100 trivial nodes (per-node cost) and a
fan-out of 1,000 nodes that each sleep 10 ms (against the 10 s they take one
after another).

    python benchmarks/engine.py --part f     # (f) only

Targets: (c) under 0.3 s; (e) under 0.5 s; (f) Dask's chain under 5x the
local executor's per-node cost, its fan-out about half the serial time.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from plait.runtime.engine.executors import LocalExecutor
from plait.runtime.engine.scheduler import Engine, RunOptions
from plait.runtime.flow.model import Flow
from plait.runtime.workspace.store import Workspace

FAN = 1000
CHAIN = 500

NAPS = 1000
NAP = 0.01  # seconds each napping node sleeps
DASK_CHAIN = 100

LIBRARY = (
    textwrap.dedent("""
    import time


    def inc(x: int = 0) -> int:
        return x + 1


    def nap(x: int = 0, seconds: float = 0.01, i: int = 0) -> int:
        time.sleep(seconds)
        return x


    def big(previous: object = None, megabytes: int = 200):
        import numpy
        return numpy.ones(megabytes * 1024 * 1024 // 8)
""")
    + "\n\ndef gather("
    + ", ".join(f"x{i}: int = 0" for i in range(FAN))
    + ") -> int:\n"
    + "    return "
    + " + ".join(f"x{i}" for i in range(FAN))
    + "\n"
)


def inc(x: int = 0) -> int:
    return x + 1


def gather_list(values: list) -> int:
    return sum(values)


def chain_flow(catalog, n: int, name: str) -> Flow:
    flow = Flow(name, catalog=catalog)
    prev = None
    for _ in range(n):
        node = flow.create_node(catalog.get("bench.py:inc"))
        if prev is not None:
            flow.connect(prev.id, "result", node.id, "x")
        prev = node
    return flow


def fan_flow(catalog) -> Flow:
    flow = Flow("fan", catalog=catalog)
    sink = flow.create_node(catalog.get("bench.py:gather"))
    for i in range(FAN):
        node = flow.create_node(catalog.get("bench.py:inc"))
        flow.set_value(node.id, "x", i)
        flow.connect(node.id, "result", sink.id, f"x{i}")
    return flow


def nap_flow(catalog) -> Flow:
    """One node feeding NAPS nodes that each sleep NAP seconds."""
    flow = Flow("naps", catalog=catalog)
    source = flow.create_node(catalog.get("bench.py:inc"))
    for i in range(NAPS):
        node = flow.create_node(catalog.get("bench.py:nap"))
        flow.set_value(node.id, "seconds", NAP)
        flow.set_value(node.id, "i", i)  # each its own key
        flow.connect(source.id, "result", node.id, "x")
    return flow


def floor_chain(pool: concurrent.futures.ProcessPoolExecutor, n: int) -> float:
    start = time.perf_counter()
    value = 0
    for _ in range(n):
        value = pool.submit(inc, value).result()
    return time.perf_counter() - start


def floor_fan(pool: concurrent.futures.ProcessPoolExecutor) -> float:
    start = time.perf_counter()
    values = [f.result() for f in [pool.submit(inc, i) for i in range(FAN)]]
    pool.submit(gather_list, values).result()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def line(label: str, plait_s: float, floor_s: float, nodes: int | None = None) -> str:
    text = (
        f"{label:<44} plait {plait_s * 1000:8.1f} ms   floor {floor_s * 1000:8.1f} ms   "
        f"ratio {plait_s / floor_s:5.2f}"
    )
    if nodes:
        text += f"   overhead {(plait_s - floor_s) / nodes * 1000:6.3f} ms/node"
    return text


async def engine_figures(folder: Path, repeat: int) -> list[str]:
    ws = Workspace(folder)
    catalog = ws.catalog()
    executor = LocalExecutor(2)
    await executor.start()
    engine = Engine(ws, catalog, executor=executor)
    chain = chain_flow(catalog, CHAIN, "chain")
    fan = fan_flow(catalog)
    await engine.run(chain_flow(catalog, 4, "warm"), None, RunOptions(use_cache=False))

    async def timed(flow: Flow, **options: object) -> float:
        start = time.perf_counter()
        result = await engine.run(flow, None, RunOptions(**options))
        assert result.ok, result.state
        return time.perf_counter() - start

    a = [await timed(chain, use_cache=False) for _ in range(repeat)]
    b = [await timed(fan, use_cache=False) for _ in range(repeat)]
    c = [await timed(fan) for _ in range(repeat)]
    await executor.close()
    ws.close()

    with concurrent.futures.ProcessPoolExecutor(2, mp_context=_spawn()) as pool:
        list(pool.map(inc, range(4)))
        fa = [floor_chain(pool, CHAIN) for _ in range(repeat)]
        fb = [floor_fan(pool) for _ in range(repeat)]
    return [
        line(f"(a) chain of {CHAIN} trivial nodes", median(a), median(fa), CHAIN),
        line(f"(b) {FAN} independent nodes fanned in to one", median(b), median(fb), FAN + 1),
        line(f"(c) (b) fully cached ({FAN + 1} cache hits)", median(c), median(fb)),
    ]


def _spawn():
    import multiprocessing

    return multiprocessing.get_context("spawn")


FLOOR_SCRIPT = textwrap.dedent("""
    import concurrent.futures, multiprocessing, sys
    sys.path.insert(0, sys.argv[1])
    from bench import inc
    if __name__ == "__main__":
        spawn = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=spawn) as pool:
            value = 0
            for _ in range(10):
                value = pool.submit(inc, value).result()
        print(value)
""")


def cold_process(folder: Path, repeat: int) -> str:
    plait = str(Path(sys.executable).with_name("plait"))
    with Workspace(folder) as ws:
        ws.save_flow(chain_flow(ws.catalog(), 10, "ten"))
    times, floors = [], []
    script = folder / "floor.py"
    script.write_text(FLOOR_SCRIPT)
    for _ in range(repeat):
        shutil.rmtree(folder / ".plait" / "cache", ignore_errors=True)
        start = time.perf_counter()
        done = subprocess.run(
            [plait, "run", "ten", "-w", str(folder), "--no-cache"], capture_output=True, text=True
        )
        times.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr
        start = time.perf_counter()
        subprocess.run([sys.executable, str(script), str(folder)], check=True, capture_output=True)
        floors.append(time.perf_counter() - start)
    return line("(d) whole `plait run` of a 10-node flow, cold", median(times), median(floors))


MEMORY_SCRIPT = textwrap.dedent("""
    import asyncio, resource, sys
    from plait.runtime.engine.scheduler import Engine, RunOptions
    from plait.runtime.flow.model import Flow
    from plait.runtime.workspace.store import Workspace

    async def main():
        ws = Workspace(sys.argv[1])
        catalog = ws.catalog()
        flow = Flow("big", catalog=catalog)
        prev = None
        for _ in range(5):
            node = flow.create_node(catalog.get("bench.py:big"))
            if prev is not None:
                flow.connect(prev.id, "result", node.id, "previous")
            prev = node
        engine = Engine(ws, catalog)
        result = await engine.run(flow, None, RunOptions(use_cache=False, max_workers=1))
        await engine.close()
        assert result.ok, result.state
        sizes = [n.outputs["result"].size for n in result.nodes.values()]
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, sum(sizes) // 2**20)

    asyncio.run(main())
""")


def memory(folder: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(folder)], check=True, capture_output=True, text=True
    )
    peak, passed = done.stdout.split()
    shutil.rmtree(folder / ".plait" / "cache", ignore_errors=True)
    return (
        f"memory: chain of 5 nodes returning 200 MB arrays ({passed} MB passed along): "
        f"scheduling process peak RSS {peak} MB"
    )


ARRAY_LIBRARY = textwrap.dedent("""
    import numpy

    TABLE = numpy.arange(100 * 1024 * 1024 // 8, dtype=numpy.float64)


    def lookup(x: int = 0) -> float:
        return float(TABLE[x])
""")


def key_figures(repeat: int) -> str:
    """Load a library reaching a 100 MB array, then plan a 1,000-node flow of it."""
    from plait.runtime.engine.plan import make_plan
    from plait.runtime.results.cache import ResultCache

    folder = Path(tempfile.mkdtemp(prefix="plait-bench-keys-"))
    try:
        (folder / "arrays.py").write_text(ARRAY_LIBRARY)
        loads, plans, replans = [], [], []
        for _ in range(repeat):
            with Workspace(folder) as ws:
                start = time.perf_counter()
                catalog = ws.catalog()  # imports the file and fingerprints its node
                loads.append(time.perf_counter() - start)
                flow = Flow("lookups", catalog=catalog)
                for i in range(FAN):
                    node = flow.create_node(catalog.get("arrays.py:lookup"))
                    flow.set_value(node.id, "x", i)
                cache = ResultCache(ws)
                for into in (plans, replans):
                    start = time.perf_counter()
                    make_plan(flow, folder=str(folder)).predict(cache)
                    into.append(time.perf_counter() - start)
                catalog.reload()  # nothing changed: the array's digest is remembered
        return (
            f"(e) keys of {FAN} nodes reading a 100 MB module-level array: load and "
            f"fingerprint {median(loads) * 1000:.0f} ms, plan and look up "
            f"{median(plans) * 1000:.0f} ms (again {median(replans) * 1000:.0f} ms)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def dask_figures(folder: Path, repeat: int) -> list[str]:
    """(f): the same flows on the local executor and on a Dask LocalCluster, in turn in one run.

    Both pools stay up the whole time and take turns, local then Dask, so each
    ratio compares runs made a moment apart on this shared machine.
    """
    from plait.runtime.engine.dask_executor import DaskExecutor

    ws = Workspace(folder)
    catalog = ws.catalog()
    chain = chain_flow(catalog, DASK_CHAIN, "dask-chain")
    naps = nap_flow(catalog)
    executors = {"local": LocalExecutor(2), "dask": DaskExecutor(slots=2)}
    engines = {}
    for name, executor in executors.items():
        await executor.start()
        engines[name] = Engine(ws, catalog, executor=executor)
        await engines[name].run(chain_flow(catalog, 4, "warm"), None, RunOptions(use_cache=False))

    async def timed(name: str, flow: Flow) -> float:
        start = time.perf_counter()
        result = await engines[name].run(flow, None, RunOptions(use_cache=False))
        assert result.ok, (result.state, result.error)
        return time.perf_counter() - start

    chains: dict[str, list[float]] = {"local": [], "dask": []}
    fans: dict[str, list[float]] = {"local": [], "dask": []}
    for _ in range(repeat):
        for name in executors:
            chains[name].append(await timed(name, chain))
    for _ in range(max(3, repeat // 2)):
        for name in executors:
            fans[name].append(await timed(name, naps))
    bare = await bare_dask(executors["dask"].client, repeat)
    for executor in executors.values():
        await executor.close()
    ws.close()
    per_node = {n: median(v) / DASK_CHAIN * 1000 for n, v in chains.items()}
    chain_ratio = median([d / loc for d, loc in zip(chains["dask"], chains["local"], strict=True)])
    fan = {n: median(v) for n, v in fans.items()}
    fan_ratio = median([d / loc for d, loc in zip(fans["dask"], fans["local"], strict=True)])
    serial = NAPS * NAP
    return [
        f"(f) chain of {DASK_CHAIN} trivial nodes: dask {per_node['dask']:5.2f} ms/node   "
        f"local {per_node['local']:5.2f} ms/node   ratio {chain_ratio:5.2f} (target <= 5)   "
        f"(bare Dask, same cluster: {bare[0] / DASK_CHAIN * 1000:5.2f} ms/call submitted one by one, "
        f"{bare[1] / DASK_CHAIN * 1000:5.2f} ms/call each given the previous future)",
        f"(f) fan-out of {NAPS} nodes sleeping {NAP * 1000:.0f} ms (serial {serial:.1f} s): "
        f"dask {fan['dask']:5.2f} s ({fan['dask'] / serial:4.2f} of serial, target ~0.5)   "
        f"local {fan['local']:5.2f} s ({fan['local'] / serial:4.2f} of serial)   ratio {fan_ratio:5.2f}   "
        f"(bare Dask client.map, same cluster: {bare[2]:5.2f} s)",
    ]


async def bare_dask(client, repeat: int) -> tuple[float, float, float]:
    """The same calls straight through Dask on the same cluster: its own floor.

    A chain submitted one call at a time (each waits for the one before), the
    same chain submitted at once (each call given the future of the one before,
    as Plait sends nodes ahead of their inputs), and the fan-out.
    """
    import bench
    from distributed import wait

    async def one_by_one() -> float:
        start = time.perf_counter()
        value = 0
        for _ in range(DASK_CHAIN):
            value = await client.submit(bench.inc, value, pure=False)
        return time.perf_counter() - start

    async def at_once() -> float:
        start = time.perf_counter()
        future = client.submit(bench.inc, 0, pure=False)
        for _ in range(DASK_CHAIN - 1):
            future = client.submit(bench.inc, future, pure=False)
        await future
        return time.perf_counter() - start

    async def fan() -> float:
        start = time.perf_counter()
        source = await client.submit(bench.inc, 0, pure=False)
        await wait(client.map(bench.nap, [source] * NAPS, [NAP] * NAPS, range(NAPS), pure=False))
        return time.perf_counter() - start

    firsts = [await one_by_one() for _ in range(repeat)]
    chained = [await at_once() for _ in range(repeat)]
    fans = [await fan() for _ in range(max(1, repeat // 2))]
    return median(firsts), median(chained), median(fans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--part", choices=["all", "f"], default="all", help="f: the Dask figures only")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="plait-bench-"))
    try:
        (folder / "bench.py").write_text(LIBRARY)
        sys.path.insert(0, str(folder))
        print(
            f"Plait engine benchmark: {os.cpu_count()} cores, medians of {args.repeat} runs, "
            "2 worker processes on both sides"
        )
        if args.part == "all":
            for text in asyncio.run(engine_figures(folder, args.repeat)):
                print(text)
            print(cold_process(folder, args.repeat))
            print(memory(folder))
            print(key_figures(args.repeat))
        for text in asyncio.run(dask_figures(folder, args.repeat)):
            print(text)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
