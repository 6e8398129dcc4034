"""Quick vs full: does the minutes-long quick budget point the same way as the handouts' own?

Both budgets answer every empirical question with a verdict against the handout's expectation
(agrees / disagrees / not resolved at this budget). This module sets the two verdicts of each
question side by side and says, from the verdicts alone, whether they agree and, where they do
not, why: an interval one budget resolves and the other does not is a matter of budget (fewer
seeds, steps or data at --quick); opposite verdicts come from what the two budgets run
differently, which each verdict's own reason names (image size, data stand-in, steps).
"""

from __future__ import annotations

from neurallab.experiments.base import markdown_table
from neurallab.experiments.verdict import AGREES, DISAGREES, NOT_RESOLVED

EMPIRICAL = (AGREES, DISAGREES, NOT_RESOLVED)
HEADERS = ["question", "handout expectation", "quick verdict", "full verdict", "same?", "why not"]


def _empirical(record: dict | None) -> list[dict]:
    if record is None or not record.get("ok"):
        return []
    return [v for v in record.get("verdicts") or [] if v["outcome"] in EMPIRICAL]


def why_they_differ(quick: dict, full: dict) -> str:
    """The reason two verdicts on one expectation differ, from the verdicts themselves."""
    reasons = [
        f"{name}: {v['reason']}"
        for name, v in (("quick", quick), ("full", full))
        if v.get("reason")
    ]
    settings = f" ({'; '.join(reasons)})" if reasons else ""
    if quick["outcome"] == NOT_RESOLVED:
        return (
            f"budget: the quick run's interval does not resolve it; the full run's does{settings}"
        )
    if full["outcome"] == NOT_RESOLVED:
        return f"the full run's interval contains the line that the quick run's cleared{settings}"
    return f"opposite verdicts from the two budgets' different settings{settings}"


def budget_rows(quick: list[dict], full: list[dict]) -> list[list[str]]:
    """One row per empirical verdict of a question, quick and full side by side.

    Questions are matched by handout and id, verdicts by position within the question (each
    question declares its expectations in a fixed order). A question that one budget has not
    answered yet shows "not run yet" on that side.
    """
    by_id = {(r["handout"], r["qid"]): r for r in full}
    rows = []
    for q in quick:
        f = by_id.get((q["handout"], q["qid"]))
        quick_v, full_v = _empirical(q), _empirical(f)
        for i in range(max(len(quick_v), len(full_v))):
            qv = quick_v[i] if i < len(quick_v) else None
            fv = full_v[i] if i < len(full_v) else None
            expectation = (qv or fv)["expectation"]
            if qv is None or fv is None:
                same, why = "—", "not run yet at " + ("--quick" if qv is None else "--full")
            elif qv["outcome"] == fv["outcome"]:
                same, why = "yes", ""
            else:
                same, why = "no", why_they_differ(qv, fv)
            rows.append(
                [
                    f"{q['handout']} {q['qid']}",
                    expectation,
                    qv["outcome"] if qv else "not run yet",
                    fv["outcome"] if fv else "not run yet",
                    same,
                    why,
                ]
            )
    return rows


def budget_table(quick: list[dict], full: list[dict]) -> str:
    """The quick-vs-full table as Markdown, with a one-line tally under it."""
    rows = budget_rows(quick, full)
    cells = [[c.replace("|", "/").replace("\n", " ") for c in row] for row in rows]
    compared = [r for r in rows if r[4] in ("yes", "no")]
    same = sum(r[4] == "yes" for r in compared)
    waiting = len(rows) - len(compared)
    tally = f"{same} of {len(compared)} verdicts the same at both budgets"
    if waiting:
        tally += f"; {waiting} not run yet at one budget"
    return markdown_table(HEADERS, cells) + f"\n\n{tally}."
