"""When a star is reclassified, and how: the cost policy.

A full reclassification costs tens of milliseconds, nearly half of it the period search over the
whole frequency grid. Two decisions bound the work.

**When** — a star with unclassified changes is reclassified when the first of these holds:

- **fresh**: the star had been quiet for ``idle_s`` before this change (a survey's cadence: one
  alert a night) — classified at once, so an isolated alert waits for nothing;
- **growth**: it gained at least ``max(min_new_points, growth_fraction × n)`` observations since
  it was last classified with ``n`` observations — a 20-point curve is redone on every new point,
  a 2,000-point curve every 100 points (5 %), so the work per alert falls as curves grow;
- **staleness**: its oldest unclassified change is ``max_delay_s`` seconds old;
- **pause** (``idle``): no alert changed it for ``idle_s`` seconds — the latest state of every star
  is always classified once its alerts pause.

A star whose latest classification came from the fast path (below) is **settled** once it has been
quiet for ``settle_s``: its curve is classified again with the full search, published only if that
changes anything — so every star's final classification is the offline one.

**Catch-up**: while the consumer is behind (its last poll came back full, or the newest alert it
consumed entered the topic more than the application's ``catchup_lag_s``, 1 s, ago), the fresh and
growth rules and settling are suspended: a star still receiving alerts is reclassified at most
once per ``max_delay_s``, so a backlog is worked off at ingest speed; stars whose alerts paused are
still classified at once.

**How** — the **fast path** refines the period near the candidates of the star's last full search
(:func:`~varstream.lightcurve.period.refine_period`) instead of scanning the whole grid; the rest of
the pipeline is the same. The full search runs instead when the star has none, when its curve grew
by ``refresh_fraction`` since the last full search (new frequencies become resolvable), when the
classification is a pause, a settling or a shutdown, and — checked after the fast path — when the
folded model explains ``explained_drop`` less of the variance than at the last full search (the
old period no longer fits).

The stars that are due are featurised together and their inference runs as one batch; the
application spends at most its ``classify_budget_s`` per poll on them, oldest change first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from varstream.stream.state import StarState

#: Every reason a star is reclassified for ("shutdown": the graceful stop classifies every unclassified star).
TRIGGERS = ("fresh", "growth", "stale", "idle", "settle", "shutdown")
#: Reasons whose classification always runs the full period search.
FULL_SEARCH_REASONS = frozenset({"idle", "settle", "shutdown"})


@dataclass(frozen=True)
class ReclassifyPolicy:
    """Settings of the cost policy (see the module notes); seconds are wall-clock seconds."""

    min_new_points: int = 1
    growth_fraction: float = 0.05
    max_delay_s: float = 10.0
    idle_s: float = 1.0
    settle_s: float = 30.0
    refresh_fraction: float = 0.1
    explained_drop: float = 0.1

    def __post_init__(self) -> None:
        if (self.min_new_points < 1 or self.growth_fraction < 0 or self.max_delay_s < 0 or self.idle_s < 0
                or self.settle_s < 0 or self.refresh_fraction < 0 or not 0 <= self.explained_drop <= 1):
            raise ValueError(f"invalid reclassification policy {self}")

    def points_needed(self, n_classified: int) -> int:
        """New observations that make a star last classified with ``n_classified`` points due."""
        return max(self.min_new_points, math.ceil(self.growth_fraction * n_classified))

    def reason(self, star: StarState, now: float, backlog: bool = False) -> str | None:
        """Why ``star`` is due at ``now`` (``fresh``, ``growth``, ``stale``, ``idle`` or ``settle``), or
        None if it can wait; with ``backlog`` the fresh and growth rules and settling are suspended."""
        c = star.classified
        if not star.unclassified:
            if not backlog and self.settle_s > 0 and star.unsettled and now - c.publish_time / 1000.0 >= self.settle_s:
                return "settle"
            return None
        if star.unclassified_since is None:
            return None
        if not backlog and c is not None and star.unclassified_since - c.publish_time / 1000.0 >= self.idle_s:
            return "fresh"
        done = c.n_observations if c else 0
        if not backlog and star.unclassified_observations >= self.points_needed(done):
            return "growth"
        if now - star.unclassified_since >= self.max_delay_s:
            return "stale"
        if now - star.last_change >= self.idle_s:
            return "idle"
        return None

    def full_search(self, star: StarState, reason: str) -> bool:
        """Whether the classification for ``reason`` runs the full period search (else the fast path)."""
        c = star.classified
        if reason in FULL_SEARCH_REASONS or c is None or not c.candidates:
            return True
        return star.n_observations >= (1.0 + self.refresh_fraction) * c.full_observations
