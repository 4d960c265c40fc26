"""Resilience: mapping over a list, retrying a flaky step, and a node that fails until fixed.

- "Download station list" fails on its first attempt of every fresh run, as a
  flaky network call would; the node retries (its options: retries 2) and the
  second attempt succeeds.
- "Measure" runs once per station (its option "map over": station), each
  station cached on its own, in parallel.
- "Check quality" fails on the first run on purpose: one station has gaps
  and max_missing is 0. Rerun with `--param max_missing=2`: only the check and
  what follows run again; the download and every measurement come from the cache.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# Where the flaky download remembers its first attempt: the workspace's own folder.
_ATTEMPTS = Path(__file__).resolve().parent / ".plait" / "flaky-download"


def download_station_list(stations: list[str]) -> dict[str, dict]:
    """Look the stations up in a (simulated) weather service: fails once, then answers."""
    _ATTEMPTS.parent.mkdir(parents=True, exist_ok=True)
    if not _ATTEMPTS.exists():
        _ATTEMPTS.write_text("failed once")
        raise ConnectionError("the weather service did not answer (simulated); retrying helps")
    _ATTEMPTS.unlink()
    return {name: {"name": name, "elevation": _number(name, 0, 1200)} for name in stations}


def measure(station: str, catalogue: dict[str, dict], days: int = 7) -> dict:
    """A week of daily temperatures at one station; None marks a day with no reading.

    Slow on purpose (as a real measurement would be), so the cache visibly saves time.
    """
    time.sleep(0.3)
    elevation = catalogue[station]["elevation"]
    readings: list[float | None] = [
        round(_number(f"{station}{day}", -5, 30) - elevation / 200, 1) for day in range(days)
    ]
    if station.lower() == "oslo":  # a station with gaps, for the quality check to find
        readings[2] = readings[5] = None
    return {"station": station, "elevation": elevation, "readings": readings}


def check_quality(measurements: Iterable[dict], max_missing: int = 0) -> list[dict]:
    """Pass the measurements on if at most `max_missing` readings are missing; else fail."""
    measurements = list(measurements)
    gaps = [(m["station"], day) for m in measurements
            for day, value in enumerate(m["readings"]) if value is None]
    if len(gaps) > max_missing:
        where = ", ".join(f"{station} day {day + 1}" for station, day in gaps)
        raise ValueError(f"{len(gaps)} readings are missing ({where}) but max_missing is "
                         f"{max_missing}: rerun with --param max_missing={len(gaps)}, "
                         "or fix the source")
    return measurements


def summarise(measurements: list[dict]) -> pd.DataFrame:
    """One row per station: elevation and the mean, lowest and highest reading."""
    import pandas as pd

    rows = []
    for m in measurements:
        values = [v for v in m["readings"] if v is not None]
        rows.append({"station": m["station"], "elevation": m["elevation"],
                     "mean": round(sum(values) / len(values), 2), "low": min(values),
                     "high": max(values), "missing": len(m["readings"]) - len(values)})
    return pd.DataFrame(rows)


def _number(text: str, low: float, high: float) -> float:
    """A number between low and high that depends only on `text` (stands in for real data)."""
    fraction = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return round(low + fraction * (high - low), 1)
