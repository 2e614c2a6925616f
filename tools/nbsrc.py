"""Write and read nbgrader source notebooks as readable percent-format scripts.

The committed source of an assignment is its notebook ``solutions/<assignment>/<name>.ipynb``.
This tool lets an author edit it as a plain script and convert it back, with the nbgrader cell
metadata spelled as short markers:

    # %% [markdown]                      a markdown cell (read-only for students)
    # %% setup                            locked code cell given to students, also run by the
                                          reference loader (imports, helpers, fixed inputs)
    # %% solution id=rnn_cell             a code cell the student completes (### BEGIN/END SOLUTION)
    # %% solution id=rnn_cell skip        ... that the reference loader must not run (tag reference-skip)
    # %% test id=test_rnn_cell points=3   a locked, autograded test cell (### BEGIN/END HIDDEN TESTS)
    # %% answer id=why_decay points=2     a markdown cell the student writes, graded by hand
    # %% code                             a plain locked code cell (demonstrations, not graded)

Markdown cells are written with a leading ``# `` on every line.

    python tools/nbsrc.py build  script.py  solutions/01_rnn/rnn.ipynb
    python tools/nbsrc.py export solutions/01_rnn/rnn.ipynb script.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

MARKER = re.compile(r"^# %%\s*(.*)$")


def _meta(kind: str, cell_id: str | None, points: float | None) -> dict:
    base = {"schema_version": 3, "task": False}
    if kind == "solution":
        return {**base, "grade": False, "grade_id": cell_id, "locked": False, "solution": True}
    if kind == "test":
        return {**base, "grade": True, "grade_id": cell_id, "locked": True, "points": points,
                "solution": False}
    if kind == "answer":
        return {**base, "grade": True, "grade_id": cell_id, "locked": False, "points": points,
                "solution": True}
    return {**base, "grade": False, "grade_id": cell_id, "locked": True, "solution": False}


def build(script: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    blocks: list[tuple[str, list[str]]] = []
    for line in script.splitlines():
        m = MARKER.match(line)
        if m:
            blocks.append((m.group(1).strip(), []))
        elif blocks:
            blocks[-1][1].append(line)
    counter = 0
    for header, lines in blocks:
        while lines and not lines[-1].strip():
            lines.pop()
        words = header.replace("[markdown]", "markdown").split()
        kind = words[0] if words else "code"
        opts = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        flags = {w for w in words[1:] if "=" not in w}
        counter += 1
        cell_id = opts.get("id") or f"{kind}-{counter}"
        points = float(opts["points"]) if "points" in opts else None
        if points is not None and points.is_integer():
            points = int(points)
        if kind in ("markdown", "answer"):
            text = "\n".join(re.sub(r"^# ?", "", ln) for ln in lines)
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines))
        cell.metadata["nbgrader"] = _meta(kind, cell_id, points)
        tags = []
        if kind == "setup":
            tags.append("setup")
        if "skip" in flags:
            tags.append("reference-skip")
        if tags:
            cell.metadata["tags"] = tags
        cell["id"] = re.sub(r"[^A-Za-z0-9_-]", "-", cell_id)[:64]
        nb.cells.append(cell)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SystemExit(f"duplicate cell ids: {sorted(dupes)}")
    nbformat.validate(nb)
    return nb


def export(nb: nbformat.NotebookNode) -> str:
    out = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        tags = set(cell.metadata.get("tags", []))
        cid = meta.get("grade_id", "")
        if cell.cell_type == "markdown":
            if meta.get("grade") and meta.get("solution"):
                head = f"answer id={cid} points={meta.get('points')}"
            else:
                head = "[markdown]"
            body = "\n".join(("# " + ln).rstrip() for ln in cell.source.splitlines())
        else:
            if "setup" in tags:
                head = f"setup id={cid}"
            elif meta.get("solution"):
                head = f"solution id={cid}"
            elif meta.get("grade"):
                head = f"test id={cid} points={meta.get('points')}"
            else:
                head = f"code id={cid}"
            if "reference-skip" in tags:
                head += " skip"
            body = cell.source
        out.append(f"# %% {head}\n{body}\n")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("build", "export"):
        print(__doc__)
        return 2
    src, dst = Path(argv[1]), Path(argv[2])
    if argv[0] == "build":
        nb = build(src.read_text())
        dst.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dst)
    else:
        dst.write_text(export(nbformat.read(src, as_version=4)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
