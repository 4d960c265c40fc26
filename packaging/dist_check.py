"""`make dist-check`: a smoke test of what `make dist` built, away from the checkout.

On a fresh copy of the examples and with fresh config, data and cache folders:
the desktop bundle runs the Iris flows headless (its worker processes are the
bundle's own executable), opens its window offscreen and keeps it up for 10 s;
the wheel installs into a new virtual environment with one top-level import
name, and its `plait --version` and `plait run` work. Prints the bundle's size
and its cold start times. Standard library only; exits non-zero at the first
thing that does not work.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
BUNDLE = DIST / "plait"
EXECUTABLE = BUNDLE / "plait"
WINDOW_SECONDS = 10


def fail(message: str) -> None:
    print(f"dist-check: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def folder_size(folder: Path) -> int:
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(parent, name)
            if not os.path.islink(path):
                total += os.lstat(path).st_size
    return total


def fresh_environment(home: Path) -> dict[str, str]:
    """This process's environment with every per-user folder moved into `home`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("XDG_", "PLAIT_", "QT_", "PYTHON", "VIRTUAL_ENV"))
    }
    for key, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_RUNTIME_DIR", "runtime"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        env[key] = str(home / sub)
    env["HOME"] = str(home)
    return env


def run(
    label: str, command: list[str], env: dict[str, str], cwd: Path, timeout: float = 600, show: int = 0
) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    took = time.perf_counter() - started
    if done.returncode != 0:
        fail(f"{label} exited {done.returncode}\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    print(f"  ok  {label} ({took:.2f} s)")
    for line in lines[-show:] if show else []:
        print(f"        {line}")
    return done, took


def check_bundle(work: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    if not os.access(EXECUTABLE, os.X_OK):
        fail(f"{EXECUTABLE} is missing: run make dist first")
    home = work / "bundle-home"
    env = fresh_environment(home)
    examples = work / "bundle-examples"
    shutil.copytree(BUNDLE / "_internal" / "plait" / "resources" / "examples", examples)
    print("The desktop bundle, dist/plait/:")
    done, figures["version_cold"] = run("plait --version", [str(EXECUTABLE), "--version"], env, work)
    if not done.stdout.startswith("plait "):
        fail(f"plait --version printed {done.stdout!r}")
    figures["version_warm"] = min(
        run("plait --version (again)", [str(EXECUTABLE), "--version"], env, work)[1] for _ in range(2)
    )
    iris = examples / "iris"
    for flow in ("data-engineering", "data-science"):
        run(
            f"plait run {flow} (worker processes)",
            [str(EXECUTABLE), "run", flow, "-w", str(iris)],
            env,
            work,
            show=1,
        )
    accuracy = run(
        "plait run data-science again (cached)",
        [str(EXECUTABLE), "run", "data-science", "-w", str(iris), "--json"],
        env,
        work,
    )[0]
    if '"cached"' not in accuracy.stdout:
        fail("the second run of data-science reused nothing")
    figures["window_cold"], figures["window_up"] = check_window(env, work)
    print(
        f"  ok  the window opened offscreen on the default workspace and stayed up "
        f"{figures['window_up']:.1f} s"
    )
    default_workspace = home / ".local" / "share" / "plait"
    if not any(default_workspace.rglob("iris.csv")):
        fail(f"the first start put no examples in the default workspace ({default_workspace})")
    print("  ok  the first start copied the examples into the default workspace")
    return figures


def check_window(env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(seconds until the window was shown, seconds it stayed up) with no display."""
    env = dict(env, QT_QPA_PLATFORM="offscreen", PLAIT_SMOKE_SECONDS=str(WINDOW_SECONDS))
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(EXECUTABLE)], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    shown = None
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if shown is None and line.startswith("plait: window shown"):
            shown = time.perf_counter() - started
    code = process.wait(timeout=120)
    ended = time.perf_counter() - started
    if code != 0 or shown is None:
        fail(f"the window exited {code} (shown: {shown is not None})\n{''.join(output)[-3000:]}")
    if ended - shown < WINDOW_SECONDS:
        fail(f"the window closed after {ended - shown:.1f} s, not {WINDOW_SECONDS} s")
    return shown, ended - shown


def check_wheel(work: Path) -> None:
    wheels = glob.glob(str(DIST / "plait-*.whl"))
    if len(wheels) != 1:
        fail(f"expected one wheel in dist/, found {len(wheels)}")
    wheel = wheels[0]
    print(f"The wheel, {os.path.relpath(wheel, ROOT)}, in a new virtual environment:")
    target = work / "venv"
    venv.create(target, with_pip=True)
    python = str(target / "bin" / "python")
    env = fresh_environment(work / "wheel-home")
    run("pip install dist/*.whl", [python, "-m", "pip", "install", "--quiet", wheel], env, work)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    record = next(Path(site).glob("plait-*.dist-info")) / "RECORD"
    tops = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    tops = {top for top in tops if not top.endswith(".dist-info") and not top.startswith("..")}
    if tops != {"plait"}:
        fail(f"the wheel put {sorted(tops)} in site-packages, not just plait")
    print("  ok  one top-level name in site-packages: plait")
    plait = str(target / "bin" / "plait")
    done = run("plait --version", [plait, "--version"], env, work)[0]
    print(f"        {done.stdout.strip()}")
    run(
        "pip install the data extra", [python, "-m", "pip", "install", "--quiet", f"{wheel}[data]"], env, work
    )
    examples = work / "wheel-examples"
    shutil.copytree(Path(site) / "plait" / "resources" / "examples", examples)
    for flow in ("data-engineering", "data-science"):
        run(f"plait run {flow}", [plait, "run", flow, "-w", str(examples / "iris")], env, work, show=1)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="plait-dist-check-"))
    try:
        figures = check_bundle(work)
        check_wheel(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = folder_size(BUNDLE)
    print()
    print(
        f"Bundle size: {size / 1e6:.0f} MB unpacked ({size / 2**20:.0f} MiB), "
        f"dist/plait/ holding {sum(len(f) for _, _, f in os.walk(BUNDLE))} files"
    )
    print(
        f"Cold start: window shown in {figures['window_cold']:.2f} s; "
        f"plait --version {figures['version_cold']:.2f} s cold, "
        f"{figures['version_warm']:.2f} s warm"
    )
    print("dist-check: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
