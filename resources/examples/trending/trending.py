"""Trending: the "download, handle, save" shape, on a saved page of GitHub search results.

The flow reads repositories.json (a sample in the shape the GitHub search API
returns; its numbers are illustrative), keeps the popular ones, picks and
renames fields, sorts them, saves outputs/trending.csv and plots the stars
per language. Most steps are Plait's built-in nodes; this file adds one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def stars_per_language(repositories: pd.DataFrame, language: str = "language",
                       stars: str = "stars") -> pd.DataFrame:
    """Total stars per language, most starred first; repositories with no language count as "none"."""
    totals = (repositories.fillna({language: "none"})
              .groupby(language, as_index=False)[stars].sum()
              .sort_values(stars, ascending=False))
    return totals.reset_index(drop=True)
