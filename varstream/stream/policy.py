"""When a star is reclassified: the cost policy.

Featurising a curve costs tens of milliseconds (the period search dominates) and grows with its
length up to the pipeline's ``max_points`` cap, so reclassifying on every alert would make the
work per alert grow with the curve. Instead a star with unclassified changes is reclassified
when the first of these holds:

- **growth**: it gained at least ``max(min_new_points, growth_fraction × n)`` observations since
  it was last classified with ``n`` observations — a 20-point curve is redone on every new point,
  a 2,000-point curve every 100 points (5 %), so the work per alert falls as curves grow;
- **staleness**: its oldest unclassified change is ``max_delay_s`` seconds old;
- **pause**: no alert changed it for ``idle_s`` seconds — the latest state of every star is always
  classified once its alerts pause, so no star keeps a stale classification.

**Catch-up**: while the consumer is behind (its last poll came back full, or the newest alert it
consumed entered the topic more than the application's ``catchup_lag_s``, 1 s, ago), only the
growth rule is suspended: a star still receiving alerts is reclassified at most once per
``max_delay_s``, so a backlog is worked off at ingest speed instead of classifying intermediate
states that the next seconds replace; stars whose alerts paused are still classified at once.

The stars that are due are featurised together and their inference runs as one batch; the
application spends at most its ``classify_budget_s`` per poll on them, oldest change first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from varstream.stream.state import StarState


@dataclass(frozen=True)
class ReclassifyPolicy:
    """Settings of the cost policy (see the module notes); seconds are wall-clock seconds."""

    min_new_points: int = 1
    growth_fraction: float = 0.05
    max_delay_s: float = 10.0
    idle_s: float = 1.0

    def __post_init__(self) -> None:
        if self.min_new_points < 1 or self.growth_fraction < 0 or self.max_delay_s < 0 or self.idle_s < 0:
            raise ValueError(f"invalid reclassification policy {self}")

    def points_needed(self, n_classified: int) -> int:
        """New observations that make a star last classified with ``n_classified`` points due."""
        return max(self.min_new_points, math.ceil(self.growth_fraction * n_classified))

    def reason(self, star: StarState, now: float, backlog: bool = False) -> str | None:
        """Why ``star`` is due at ``now`` (``growth``, ``stale`` or ``idle``), or None if it can wait;
        with ``backlog`` the growth rule is suspended (catch-up)."""
        if not star.pending or star.pending_since is None:
            return None
        done = star.classified.n_observations if star.classified else 0
        if not backlog and star.pending_observations >= self.points_needed(done):
            return "growth"
        if now - star.pending_since >= self.max_delay_s:
            return "stale"
        if now - star.last_change >= self.idle_s:
            return "idle"
        return None
