"""Which classifications a subscriber wants: one filter for ``tail``, ``history`` and the explorer."""

from __future__ import annotations

from dataclasses import dataclass


def _names(text: str | None) -> frozenset[str]:
    return frozenset(n.strip() for n in (text or "").split(",") if n.strip())


@dataclass(frozen=True)
class RecordFilter:
    """Classifications whose predicted class is one of ``classes`` (empty: any), whose family is one
    of ``families`` (empty: any) and whose predicted class has probability at least ``min_prob``
    (0..1)."""

    classes: frozenset[str] = frozenset()
    families: frozenset[str] = frozenset()
    min_prob: float = 0.0

    @staticmethod
    def parse(classes: str | None = None, families: str | None = None, min_prob: float | str | None = None) -> "RecordFilter":
        """From comma-separated lists (``"RRab,RRc"``) and a probability (``--min-prob 0.8``).

        Raises:
            ValueError: ``min_prob`` outside 0..1 or not a number.
        """
        p = float(min_prob or 0.0)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"min_prob must be within 0..1, got {p}")
        return RecordFilter(_names(classes), _names(families), p)

    def matches(self, predicted_class: str, family: str, probability: float) -> bool:
        """Whether a classification with these values passes."""
        return ((not self.classes or predicted_class in self.classes)
                and (not self.families or family in self.families)
                and probability >= self.min_prob)

    def matches_record(self, rec: dict) -> bool:
        """:meth:`matches` on a ``Classification`` record."""
        top = max((p["probability"] for p in rec.get("probabilities", [])), default=0.0)
        return self.matches(rec.get("predicted_class", ""), rec.get("family", ""), top)

    @property
    def active(self) -> bool:
        return bool(self.classes or self.families or self.min_prob > 0)
