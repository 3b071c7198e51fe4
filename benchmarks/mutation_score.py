#!/usr/bin/env python
"""The mutation score of ``make mutate`` per module, and the surviving mutants.

Reads mutmut's results (``mutants/**/*.meta``, written by ``mutmut run``): killed (a unit test
failed), timeout (counted as killed), survived, no tests (no unit test runs the mutated code).
Prints one line per module and ``mutation_score=S killed=K survived=V`` over all of them; the
survivors are listed with ``mutmut show NAME`` to see the change.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mutmut.stats import status_by_exit_code  # noqa: E402


def main() -> int:
    metas = sorted(Path("mutants").rglob("*.py.meta"))
    if not metas:
        print("no mutmut results under mutants/: run `make mutate`")
        return 1
    total: Counter = Counter()
    survivors = []
    for meta in metas:
        data = json.loads(meta.read_text())
        statuses = Counter(status_by_exit_code[v] for v in data.get("exit_code_by_key", {}).values())
        total += statuses
        killed = statuses["killed"] + statuses["timeout"]
        tested = killed + statuses["survived"] + statuses["no tests"]
        module = str(meta.relative_to("mutants"))[: -len(".meta")]
        print(f"{module:45s} {killed:4d} killed of {tested:4d}: {100 * killed / max(tested, 1):5.1f} %  "
              f"(survived {statuses['survived']}, no tests {statuses['no tests']})")
        survivors += [k for k, v in data.get("exit_code_by_key", {}).items()
                      if status_by_exit_code[v] in ("survived", "no tests")]
    killed = total["killed"] + total["timeout"]
    tested = killed + total["survived"] + total["no tests"]
    print("survivors (mutmut show NAME):")
    for name in survivors:
        print("   ", name)
    print(f"mutation_score={100 * killed / max(tested, 1):.1f} killed={killed} survived={tested - killed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
