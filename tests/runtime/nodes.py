"""Node functions the engine tests run in worker processes."""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import time
from pathlib import Path

from plait.runtime.engine.progress import progress
from plait.runtime.nodes.decorator import node


def number(value: float = 1.0) -> float:
    return value


def add(a: float, b: float = 0.0) -> float:
    return a + b


def total(items: list) -> float:
    return float(sum(items))


def chatty(x: float, lines: int = 3) -> float:
    for i in range(lines):
        print(f"line {i} of {x}")
    print("to stderr", file=sys.stderr)
    logging.getLogger("chatty").warning("careful with %s", x)
    return x


def steps(n: int = 5) -> int:
    for i in range(n):
        progress(i + 1, n, f"step {i + 1}")
        time.sleep(0.01)
    return n


def nap(seconds: float = 5.0) -> float:
    time.sleep(seconds)
    return seconds


def boom(x: float = 0.0) -> float:
    raise ValueError(f"boom at {x}")


def exit_hard(x: float = 0.0) -> float:
    os._exit(1)


def segfault(x: float = 0.0) -> float:
    return float(len(ctypes.string_at(0)))


def out_of_memory(x: float = 0.0) -> float:
    raise MemoryError("could not allocate 1 TB")


def interrupt(x: float = 0.0) -> float:
    raise KeyboardInterrupt


def flaky(counter: str, fail_times: int = 2) -> int:
    """Fails `fail_times` times, counting attempts in a file, then succeeds."""
    path = Path(counter)
    with path.open("a") as fh:
        fh.write(f"{time.time()}\n")
    attempts = len(path.read_text().splitlines())
    if attempts <= fail_times:
        raise RuntimeError(f"attempt {attempts} fails")
    return attempts


@node(retries=2, retry_delay=0.2)
def flaky_decorated(counter: str) -> int:
    return flaky(counter, 2)


@node(timeout=0.5)
def sleepy(seconds: float = 30.0) -> float:
    time.sleep(seconds)
    return seconds


def big_array(n: int = 1000, seed: float = 0.0):
    import numpy

    return numpy.full(n, seed)


def array_sum(a) -> float:
    return float(a.sum())


@node(outputs=("low", "high"))
def split(x: float) -> tuple[float, float]:
    return x - 1, x + 1


def touch(x: float, path: str) -> float:
    with open(path, "a") as fh:
        fh.write(f"{x}\n")
    return x


def talk_until(flag: str, lines: int = 0) -> int:
    """Print `lines` lines, then one line a little while until `flag` exists, then a last one."""
    for i in range(lines):
        print(f"line {i}")
    ticks = 0
    while not os.path.exists(flag):
        print(f"still here {ticks}")
        ticks += 1
        time.sleep(0.01)
    print("the last line")
    return ticks


def with_tqdm(n: int = 50) -> int:
    from tqdm import tqdm

    done = 0
    for _ in tqdm(range(n), desc="crunching"):
        done += 1
    return done


def _file_state(values: dict) -> str:
    path = Path(values.get("path", ""))
    return path.read_text() if path.exists() else "missing"


@node(cache_key=_file_state)
def read_text(path: str) -> str:
    return Path(path).read_text().upper()


def numbers(n: int = 5) -> list:
    return [float(i) for i in range(n)]


def square(x: float) -> float:
    print(f"squaring {x}")
    return x * x


def invert(x: float) -> float:
    return 1 / x


@node(map_over="x", outputs=("double", "half"))
def double_and_half(x: float) -> tuple[float, float]:
    return x * 2, x / 2
