"""Quick vs full: does the minutes-long quick budget point the same way as the handouts' own?

Both budgets answer every empirical question with a verdict against the handout's expectation
(agrees / disagrees / not resolved at this budget). This module sets the two verdicts of each
question side by side and says, from the verdicts alone, whether they agree and, where they do
not, why: an interval one budget resolves and the other does not is a matter of budget (fewer
seeds, steps or data at --quick); opposite verdicts come from what the two budgets run
differently, which each verdict's own reason names (image size, data stand-in, steps).

What the two budgets run differently is read from the answers themselves: every answer
records the command of each run it made, so `settings_changed` parses both budgets' commands
with the program's own parser (defaults filled in) and names every setting that differs, and
the number of seeds. The table cannot then omit a difference that a question's own text forgets.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from collections import defaultdict

from neurallab import commands
from neurallab.errors import UserError
from neurallab.experiments.base import markdown_table
from neurallab.experiments.verdict import AGREES, DISAGREES, NOT_RESOLVED

EMPIRICAL = (AGREES, DISAGREES, NOT_RESOLVED)
HEADERS = [
    "question",
    "handout expectation",
    "quick verdict",
    "full verdict",
    "same?",
    "why not (or why the same says little)",
]

# Settings that say where a run goes and how it is shown, not what it computes. The seed is
# compared as a count (the answers' `seeds`), since each budget draws its own.
BOOKKEEPING = frozenset(
    {"run_dir", "run_name", "project", "progress", "no_progress", "tracker", "seed", "device"}
    | {"resume", "overwrite", "out", "use_wandb", "wandb_online"}
)
SEED_SUFFIX = re.compile(r"-s\d+$")
# A path into a budget's own run folder (`--weights`, `--checkpoint`): the same run either way.
BUDGET_FOLDER = re.compile(r"^.*reproduce/(quick|full)/")


# One parser per command for the whole table (building one imports and walks the program's
# settings; a table parses every recorded command of every answer, twice).
_parser = functools.cache(commands.parser)


def _run_settings(command: str) -> tuple[str, dict] | None:
    """(arm, every setting with its default filled in) of one recorded command, the arm being
    its run name without the seed suffix; None for a command that is not a `neurallab` program
    run (a compat script) or that the current parser no longer takes."""
    words = shlex.split(command)
    if len(words) < 2 or words[0] != "neurallab":
        return None
    try:
        values = vars(_parser(words[1]).parse_args(words[2:]))
    except (SystemExit, UserError):  # a command the current parser no longer takes
        return None
    name = values.get("run_name") or words[1]
    arm = SEED_SUFFIX.sub("", str(name))
    settings = {
        k: BUDGET_FOLDER.sub("", str(v)) if isinstance(v, (str, os.PathLike)) else v
        for k, v in values.items()
        if k not in BOOKKEEPING and not k.startswith("_")
    }
    return arm, settings


def _arms(record: dict) -> dict[str, dict]:
    """Each arm's settings; an arm run with several seeds counts once (its settings agree)."""
    arms = {}
    for command in record.get("commands") or []:
        parsed = _run_settings(command)
        if parsed is not None:
            arms.setdefault(*parsed)
    return arms


def _show(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return "default" if value is None else str(value)


def _which(arms: list[str], shared: list[str]) -> str:
    """'' if every arm differs alike; else the arms, by a shared prefix where one covers them."""
    if len(arms) == len(shared):
        return ""
    prefix = os.path.commonprefix(arms).rstrip("-")
    if len(arms) > 1 and prefix and [a for a in shared if a.startswith(prefix)] == arms:
        return f" in the {prefix}-* runs"
    return f" in {', '.join(arms)}"


def settings_changed(quick: dict, full: dict) -> str:
    """Every setting that the quick answer's runs set differently from the full answer's, and
    the seed count: 'epochs 1 (full: 10), eval_every 200 (full: 1000); 3 seeds (full: 5)'.

    Arms are matched by run name (seed suffix removed); a difference shared by every arm is
    named once, one that is not names its arms. '' when the two ran the same settings.
    """
    quick_arms, full_arms = _arms(quick), _arms(full)
    shared = [arm for arm in quick_arms if arm in full_arms]
    where: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for arm in shared:
        q, f = quick_arms[arm], full_arms[arm]
        for key in sorted(q.keys() | f.keys()):
            if q.get(key) != f.get(key):
                where[(key, _show(q.get(key)), _show(f.get(key)))].append(arm)
    parts = [f"{key} {q} (full: {f}){_which(arms, shared)}" for (key, q, f), arms in where.items()]
    for label, mine, other in (("quick", quick_arms, full_arms), ("full", full_arms, quick_arms)):
        only = sorted(set(mine) - set(other))
        if only:
            parts.append(f"runs only at --{label}: {', '.join(only)}")
    text = ", ".join(parts)
    n_quick, n_full = len(quick.get("seeds") or []), len(full.get("seeds") or [])
    if n_quick != n_full:
        seeds = f"{n_quick} seed{'s' * (n_quick != 1)} (full: {n_full})"
        text = f"{text}; {seeds}" if text else seeds
    return text


def _empirical(record: dict | None) -> list[dict]:
    if record is None or not record.get("ok"):
        return []
    return [v for v in record.get("verdicts") or [] if v["outcome"] in EMPIRICAL]


def why_they_differ(quick: dict, full: dict, changed: str = "") -> str:
    """The reason two verdicts on one expectation differ, from the verdicts themselves and
    `changed`, the settings the quick budget runs differently (`settings_changed`)."""
    reasons = [
        f"{name}: {v['reason']}"
        for name, v in (("quick", quick), ("full", full))
        if v.get("reason")
    ]
    if changed:
        reasons.append(f"the quick budget runs {changed}")
    settings = f" ({'; '.join(reasons)})" if reasons else ""
    if quick["outcome"] == NOT_RESOLVED:
        return (
            f"budget: the quick run's interval does not resolve it; the full run's does{settings}"
        )
    if full["outcome"] == NOT_RESOLVED:
        return f"the full run's interval contains the line that the quick run's cleared{settings}"
    return f"opposite verdicts from the two budgets' different settings{settings}"


def not_learned(quick: dict, full: dict) -> str:
    """For verdicts that agree: whether a budget's runs had not yet learned what the question
    compares (a question measures this and records it as `metrics["not_learned"]`, e.g. HW7's
    validation losses against the unigram entropy). An agreement such runs reach says little."""
    flags = [
        f"{name}: {record['metrics']['not_learned']}"
        for name, record in (("quick", quick), ("full", full))
        if (record.get("metrics") or {}).get("not_learned")
    ]
    return (
        f"the same verdict, but the runs had not learned yet ({'; '.join(flags)})" if flags else ""
    )


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
        changed = settings_changed(q, f) if quick_v and full_v else ""
        for i in range(max(len(quick_v), len(full_v))):
            qv = quick_v[i] if i < len(quick_v) else None
            fv = full_v[i] if i < len(full_v) else None
            expectation = (qv or fv)["expectation"]
            if qv is None or fv is None:
                same, why = "—", "not run yet at " + ("--quick" if qv is None else "--full")
            elif qv["outcome"] == fv["outcome"]:
                same, why = "yes", not_learned(q, f)
            else:
                same, why = "no", why_they_differ(qv, fv, changed)
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


def changed_list(quick: list[dict], full: list[dict]) -> str:
    """One line per question both budgets answered: what the quick budget runs differently,
    for the verdicts that agree as much as for those that do not."""
    by_id = {(r["handout"], r["qid"]): r for r in full}
    lines = []
    for q in quick:
        f = by_id.get((q["handout"], q["qid"]))
        if q.get("ok") and f and f.get("ok") and (q.get("commands") or f.get("commands")):
            changed = settings_changed(q, f) or "the same settings and seed count"
            lines.append(f"- {q['handout']} {q['qid']}: {changed}")
    return "\n".join(lines)


def budget_table(quick: list[dict], full: list[dict]) -> str:
    """The quick-vs-full table as Markdown, with a one-line tally under it and the settings
    each question's quick runs change."""
    rows = budget_rows(quick, full)
    cells = [[c.replace("|", "/").replace("\n", " ") for c in row] for row in rows]
    compared = [r for r in rows if r[4] in ("yes", "no")]
    same = sum(r[4] == "yes" for r in compared)
    waiting = len(rows) - len(compared)
    tally = f"{same} of {len(compared)} verdicts the same at both budgets"
    if waiting:
        tally += f"; {waiting} not run yet at one budget"
    table = markdown_table(HEADERS, cells) + f"\n\n{tally}."
    changes = changed_list(quick, full)
    if changes:
        table += (
            "\n\nWhat the quick budget runs differently, read from both answers' recorded "
            "commands (a setting not on a command line is the program's default):\n\n" + changes
        )
    return table
