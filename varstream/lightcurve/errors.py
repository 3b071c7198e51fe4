"""The one documented error of the light-curve core."""

from __future__ import annotations


class LightCurveError(ValueError):
    """A light curve that cannot be used, with the star and the reason.

    Raised for input that no cleaning can rescue (empty, too few valid points, mixed bands under
    the strict policy). ``str(err)`` reads ``"star <id>: <reason>"``.
    """

    def __init__(self, object_id: str, reason: str) -> None:
        self.object_id = str(object_id)
        self.reason = reason
        super().__init__(f"star {self.object_id}: {reason}")
