"""What grading produces: CSV files for an LMS, per-student feedback, and a class report.

The feedback shows the student's own code, the messages of the graders and the points; it never
contains the hidden tests' source (nbgrader's own feedback shows the whole test cells).
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections import Counter
from pathlib import Path

from .batch import AssignmentInfo, SubmissionResult

STATUS_HELP = {
    "graded": "graded",
    "crashed": "the notebook's process died (e.g. os._exit or a hard crash); later parts got no points",
    "timeout": "the notebook ran past the time limit and was stopped",
    "missing": "no notebook was found for this student",
    "corrupt": "the notebook file could not be read",
    "rejected": "a file that could not be matched to a student",
    "error": "the grader itself failed on this submission (please report it)",
}


def bonus_points(info: AssignmentInfo, r: SubmissionResult) -> float:
    """The extra credit a submission earned (the bonus parts' points)."""
    bonus = {t.grade_id for t in info.tests if t.bonus}
    return float(sum(p.points for p in r.parts if p.part in bonus))


def blank(r: SubmissionResult) -> bool:
    """No function was implemented: every part failed because its body still raises."""
    return bool(r.parts) and all(not p.passed and "not implemented yet" in p.message for p in r.parts)


def needs_a_look(r: SubmissionResult) -> list[str]:
    """Why an instructor should open this submission (empty: nothing to see)."""
    why = [r.reason] if r.status != "graded" and r.reason else []
    if r.status == "graded" and blank(r):
        why.append("blank: no function was implemented")
    why += [f for f in r.flags if f not in why]
    why += [f"cell {c.get('cell')} raised {c.get('error')}" for c in r.cells
            if c.get("status") == "error" and f"cell {c.get('cell')}" not in " ".join(why)]
    if r.status != "graded" and not why:
        why.append(r.status)
    return why


def write_csvs(info: AssignmentInfo, results: list[SubmissionResult], folder: Path) -> tuple[Path, Path]:
    """``grades.csv`` (one row per student, one column per graded part) and ``grades_long.csv``.

    ``autograded_total`` counts every point earned, the bonus (extra credit) included, as nbgrader's
    score does; ``autograded_max`` leaves the bonus out, so a perfect submission without the bonus
    is at 100 %; ``bonus`` is the extra credit alone."""
    folder.mkdir(parents=True, exist_ok=True)
    wide, long = folder / "grades.csv", folder / "grades_long.csv"
    parts = [t.grade_id for t in info.tests]
    manual = list(info.manual)
    with wide.open("w", newline="") as fh:
        writer = csv.writer(fh)
        has_bonus = any(t.bonus for t in info.tests)
        writer.writerow(["student_id", "status", "reason", *parts, "autograded_total", "autograded_max",
                         *(["bonus"] if has_bonus else []),
                         *(f"{m} (manual)" for m in manual), "flags"])
        for r in sorted(results, key=lambda r: r.student):
            points = {p.part: p.points for p in r.parts}
            writer.writerow([r.student, r.status, r.reason, *(f"{points.get(p, 0.0):g}" for p in parts),
                             f"{r.score:g}", f"{info.max_autograded:g}",
                             *([f"{bonus_points(info, r):g}"] if has_bonus else []),
                             *("needs manual grading" for _ in manual), "; ".join(r.flags)])
    with long.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "part", "functions", "points", "max_points", "passed",
                         "status", "diagnosis", "message"])
        for r in sorted(results, key=lambda r: r.student):
            for p in r.parts:
                writer.writerow([r.student, p.part, " ".join(p.functions), f"{p.points:g}",
                                 f"{p.max_points:g}", p.passed, r.status, p.diagnosis or "", p.message])
    return wide, long


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:62rem;margin:2rem auto;
padding:0 1rem;color:#1d1d1f;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:1rem 0}td,th{border:1px solid #ddd;padding:.35rem .5rem;
text-align:left;vertical-align:top}th{background:#f5f5f7}
.pass{color:#116329;font-weight:600}.fail{color:#b3261e;font-weight:600}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;border-radius:6px;font-size:.85rem}
.flag{background:#fff4e5;border-left:4px solid #f0a020;padding:.4rem .6rem;margin:.3rem 0}
img{max-width:100%}
"""


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>{body}</body></html>\n")


def feedback_html(info: AssignmentInfo, r: SubmissionResult) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(p.part)}</td><td>{esc(', '.join(p.functions))}</td>"
        f"<td class='{'pass' if p.passed else 'fail'}'>{p.points:g} / {p.max_points:g}</td>"
        f"<td>{esc(p.message)}</td></tr>"
        for p in r.parts
    )
    body = [
        f"<h1>Feedback: {esc(info.name)} — {esc(r.student)}</h1>",
        f"<p><b>Autograded score: {r.score:g} / {info.max_autograded:g}</b>"
        + (f" (including {bonus_points(info, r):g} bonus points of extra credit)" if bonus_points(info, r) else "")
        + f" (status: {esc(r.status)}"
        f"{' — ' + esc(r.reason) if r.reason else ''})</p>",
        "<p>Each function was run on fresh random inputs of several shapes and compared with the "
        "reference; the message says what was wrong on the first input that failed.</p>",
        "<table><tr><th>part</th><th>function</th><th>points</th><th>result</th></tr>" + rows + "</table>",
    ]
    if info.manual:
        body.append("<h2>Written answers (graded by hand)</h2>")
        for key, points in info.manual.items():
            body.append(f"<p><b>{esc(key)}</b> ({points:g} points)</p><pre>{esc(r.manual.get(key, ''))}</pre>")
    if r.flags:
        body.append("<h2>Notes</h2>" + "".join(f"<div class='flag'>{esc(f)}</div>" for f in r.flags))
    errors = [c for c in r.cells if c.get("status") != "ok"]
    if errors:
        body.append("<h2>Cells that failed when your notebook ran</h2>")
        body += [f"<p><b>{esc(c['cell'])}</b>: {esc(str(c.get('error')))}</p>" for c in errors]
    if r.code:
        body.append("<h2>Your code</h2>")
        body += [f"<p><b>{esc(k)}</b></p><pre>{esc(v)}</pre>" for k, v in r.code.items()]
    return _page(f"{info.name} feedback — {r.student}", "\n".join(body))


def _figure_png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def class_report_html(info: AssignmentInfo, results: list[SubmissionResult], seconds: float) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    esc = html.escape
    n = len(results)
    statuses = Counter(r.status for r in results)
    body = [f"<h1>Class report: {esc(info.name)}</h1>",
            f"<p>{n} submissions graded in {seconds:.1f} s. "
            + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())) + "</p>"]

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].hist([r.score for r in results], bins=min(20, max(5, n)), range=(0, info.max_autograded + info.max_bonus),
                 color="#4062bb")
    axes[0].set_xlabel(f"autograded score (of {info.max_autograded:g}"
                       + (f", plus up to {info.max_bonus:g} bonus" if info.max_bonus else "") + ")")
    axes[0].set_ylabel("students")
    axes[0].set_title("Score distribution")
    parts = [t.grade_id for t in info.tests]
    rates = [sum(1 for r in results for p in r.parts if p.part == part and p.passed) / max(n, 1) for part in parts]
    axes[1].barh(parts, [100 * x for x in rates], color="#59a14f")
    axes[1].set_xlabel("students with full points (%)")
    axes[1].set_xlim(0, 100)
    axes[1].invert_yaxis()
    axes[1].set_title("Per part")
    body.append(f"<img alt='score distribution and per-part success' src='{_figure_png(fig)}'>")

    mistakes = Counter(f"{p.part}: {p.diagnosis}" for r in results for p in r.parts if p.diagnosis)
    if mistakes:
        top = mistakes.most_common(12)
        fig, ax = plt.subplots(figsize=(11, 0.45 * len(top) + 1))
        ax.barh([m[:90] for m, _ in top], [c for _, c in top], color="#e15759")
        ax.invert_yaxis()
        ax.set_xlabel("students")
        ax.set_title("Most frequent diagnosed mistakes")
        body.append(f"<h2>Most frequent mistakes</h2><img alt='frequent mistakes' src='{_figure_png(fig)}'>")
        body.append("<table><tr><th>count</th><th>part: mistake</th></tr>"
                    + "".join(f"<tr><td>{c}</td><td>{esc(m)}</td></tr>" for m, c in mistakes.most_common())
                    + "</table>")

    cell_times: dict[str, list[float]] = {}
    for r in results:
        for c in r.cells:
            cell_times.setdefault(str(c.get("cell")), []).append(float(c.get("seconds", 0.0)))
    if cell_times:
        names = list(cell_times)
        fig, ax = plt.subplots(figsize=(11, 0.35 * len(names) + 1))
        ax.boxplot([cell_times[k] for k in names], orientation="horizontal", tick_labels=names)
        ax.set_xlabel("seconds per cell")
        ax.set_xscale("symlog", linthresh=0.01)
        ax.set_title("Run time of each cell across submissions")
        body.append(f"<h2>Cell run times</h2><img alt='cell run times' src='{_figure_png(fig)}'>")

    trouble = [(r, needs_a_look(r)) for r in sorted(results, key=lambda r: r.student)]
    trouble = [(r, why) for r, why in trouble if why]
    body.append("<h2>Submissions that need a look</h2>")
    if trouble:
        body.append("<p>Crashed, stopped, unreadable or blank notebooks, cells that raised, and flags.</p>"
                    "<table><tr><th>student</th><th>status</th><th>why</th></tr>"
                    + "".join(f"<tr><td>{esc(r.student)}</td><td>{esc(r.status)}</td><td>"
                              + esc("; ".join(why)) + "</td></tr>" for r, why in trouble)
                    + "</table>")
    else:
        body.append("<p>None: every submission ran to the end without an error or a flag.</p>")
    from .similarity import for_class, report_section  # answers alike: a ranking to read, not a verdict

    body.append(report_section(for_class(info, results)))
    body.append("<h2>All students</h2><table><tr><th>student</th><th>status</th><th>score</th><th>time (s)</th></tr>"
                + "".join(f"<tr><td>{esc(r.student)}</td><td>{esc(r.status)}</td><td>{r.score:g}</td>"
                          f"<td>{r.seconds:.1f}</td></tr>" for r in sorted(results, key=lambda r: r.student))
                + "</table>")
    body.append("<p>Statuses: " + "; ".join(f"<b>{k}</b>: {esc(v)}" for k, v in STATUS_HELP.items()) + "</p>")
    return _page(f"{info.name} class report", "\n".join(body))
