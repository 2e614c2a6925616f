"""Schematic drawings of the networks the course teaches, from one small vocabulary.

Every drawing is built from five pieces: a ``box`` (a state, a token, a layer), a ``gate`` (a box
holding its activation, coloured by the gate), an ``op`` (a circle holding an element-wise
operation: ⊙, +, 1−), an ``arrow`` and a ``wire`` (a line without a head). One function per kind of
figure returns a :class:`matplotlib.figure.Figure`; ``show`` displays it as SVG in a notebook.

Conventions, the same in every chapter:

- labels are the symbols of ``book/notation.md`` in mathtext ($f_t$, $c_{t-1}$, $W_{hh}$, ...);
- one colour per gate (``GATES``), whatever the chapter; the LSTM's candidate $g_t$ and the GRU's
  candidate $\\tilde h_t$ share the candidate colour;
- every figure has an opaque white background, so that it reads the same in the site's dark mode;
- a part that is not the subject of a figure is drawn faded (``faded=True``), the way colah's
  "Understanding LSTM Networks" builds the LSTM one part at a time.

The figures are built from ``matplotlib.figure.Figure`` directly (no pyplot state): nothing is
shown twice and nothing leaks into the next cell's plots.
"""

from __future__ import annotations

import io
import re

import matplotlib.patheffects as pe
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

INK = "#222222"
FADE = 0.78            # how far a faded part is mixed with white
UNIT_IN = 0.62         # inches per drawing unit: figures are sized by their content

# One colour per gate, the same in every chapter (Okabe-Ito colours, distinct for colour-blind readers).
GATES = {
    "forget": "#D55E00",
    "input": "#0072B2",
    "candidate": "#009E73",
    "output": "#CC79A7",
    "reset": "#E69F00",
    "update": "#56B4E9",
}
# Roles of the other parts.
ROLES = {
    "x": "#F6D7B0",        # inputs and tokens
    "h": "#CFE8CF",        # hidden states
    "y": "#CFDCF5",        # outputs
    "loss": "#E6E6E6",
    "context": "#F3E08A",  # the context vector of seq2seq
    "cell": "#A67C00",     # the LSTM's cell-state path
    "attention": "#7B3294",
}
# The weights of the Elman RNN, and the gradient paths that run through them (chapter 1).
WEIGHTS = {"W_xh": "#00798C", "W_hh": "#C0392B", "W_hy": "#6A3D9A"}
HIGHLIGHT = "#FFF1A8"      # the background of the part a figure is about
_DECIMALS = re.compile(r"(\d\.\d{3})\d+")
_CLIP = re.compile(r' clip-path="url\(#\w+\)"')
_INDENT = re.compile(r"\n[ \t]+")

# The name and symbol of each gate as the figures write them: the words and symbols of
# book/notation.md (tests/test_figures.py checks them against its tables).
LSTM_PARTS = {
    "forget": ("forget gate", "f_t"),
    "input": ("input gate", "i_t"),
    "candidate": ("candidate", "g_t"),
    "output": ("output gate", "o_t"),
}
GRU_PARTS = {
    "reset": ("reset gate", "r_t"),
    "update": ("update gate", "z_t"),
    "candidate": ("candidate", r"\tilde h_t"),
}


def tint(colour: str, amount: float = FADE) -> tuple[float, float, float]:
    """``colour`` mixed with white: ``amount=0`` is the colour, ``1`` is white."""
    return tuple(c + (1.0 - c) * amount for c in to_rgb(colour))


def canvas(width: float, height: float, *, unit: float = UNIT_IN) -> tuple[Figure, object]:
    """A white figure whose single axes spans it, in drawing units (``unit`` inches each)."""
    fig = Figure(figsize=(width * unit, height * unit), facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def text(ax, xy, s: str, *, size: float = 12, colour=INK, faded: bool = False, **kw):
    """A label; ``kw`` goes to ``ax.text`` (``ha``, ``va``, ``weight``, ...)."""
    kw.setdefault("ha", "center")
    kw.setdefault("va", "center")
    colour = tint(colour) if faded else colour
    return ax.text(*xy, s, fontsize=size, color=colour, zorder=6, **kw)


def box(ax, xy, s: str = "", *, w: float = 0.9, h: float = 0.6, fc="white", ec=INK, lw: float = 1.2,
        size: float = 12, faded: bool = False, round_: float = 0.1, text_colour=INK):
    """A rounded box centred at ``xy`` with a label."""
    x, y = xy
    fc = tint(fc) if faded and fc != "white" else fc
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle=f"round,pad=0,rounding_size={round_}",
                           fc=fc, ec=tint(ec) if faded else ec, lw=lw, zorder=4)
    ax.add_patch(patch)
    if s:
        text(ax, xy, s, size=size, colour=text_colour, faded=faded)
    return patch


def gate(ax, xy, kind: str, activation: str = r"$\sigma$", *, w: float = 0.9, h: float = 0.62,
         faded: bool = False, size: float = 13):
    """A gate (or the candidate) of colour ``GATES[kind]``, holding its activation."""
    colour = GATES[kind]
    return box(ax, xy, activation, w=w, h=h, fc=tint(colour, 0.55), ec=colour, lw=2.0, size=size,
               faded=faded)


def op(ax, xy, symbol: str, *, r: float = 0.28, faded: bool = False, size: float = 13, ec=INK):
    """An element-wise operation in a circle: ``"⊙"``, ``"+"``, ``"1−"``, ``"tanh"``."""
    ax.add_patch(Circle(xy, r, fc="white", ec=tint(ec) if faded else ec, lw=1.3, zorder=4))
    text(ax, xy, symbol, size=size, faded=faded)


def _halo(lw: float):
    # a white outline under every line, so that a crossing reads as a crossing, not a junction
    return [pe.Stroke(linewidth=lw + 3.5, foreground="white"), pe.Normal()]


def wire(ax, points, *, colour=INK, lw: float = 1.4, faded: bool = False, ls="-", zorder: float = 2,
         halo: bool = False):
    """A polyline through ``points`` (no head); ``halo`` outlines it in white where it crosses a line."""
    xs, ys = zip(*points, strict=True)
    colour = tint(colour) if faded else colour
    (line,) = ax.plot(xs, ys, color=colour, lw=lw, ls=ls, solid_capstyle="round", zorder=zorder,
                      path_effects=_halo(lw) if halo else None)
    return line


def arrow(ax, p, q, *, colour=INK, lw: float = 1.4, faded: bool = False, ls="-", rad: float = 0.0,
          head: float = 11, zorder: float = 3, label: str | None = None, label_xy=None,
          label_size: float = 11, label_kw: dict | None = None, halo: bool = False):
    """An arrow from ``p`` to ``q`` (curved by ``rad``), with an optional label at ``label_xy``."""
    colour = tint(colour) if faded else colour
    patch = FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=head, color=colour, lw=lw, ls=ls,
                            shrinkA=0, shrinkB=0, connectionstyle=f"arc3,rad={rad}", zorder=zorder,
                            path_effects=_halo(lw) if halo else None)
    ax.add_patch(patch)
    if label:
        if label_xy is None:
            label_xy = ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)
        text(ax, label_xy, label, size=label_size, colour=colour, **(label_kw or {}))
    return patch


def dot(ax, xy, *, colour=INK, faded: bool = False, size: float = 4.5):
    """A junction where a line splits."""
    ax.plot([xy[0]], [xy[1]], "o", ms=size, color=tint(colour) if faded else colour, zorder=5)


def highlight(ax, xy, w: float, h: float, *, colour=HIGHLIGHT, label: str | None = None, label_xy=None,
              size: float = 10.5):
    """A soft rounded background behind the part a figure is about."""
    x, y = xy
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.25", fc=colour,
                                ec="none", zorder=0))
    if label:
        text(ax, label_xy or (x + w / 2, y + h + 0.25), label, size=size, colour="#6b5800")


def key(ax, xy, entries, *, size: float = 11, gap: float = 0.25):
    """A row of coloured squares with their names: ``entries`` = [(colour, "name $sym$"), ...]."""
    x, y = xy
    inches_per_unit = ax.figure.get_size_inches()[0] / ax.get_xlim()[1]
    char = 0.55 * size / 72 / inches_per_unit          # the width of an average character, in units
    square = 1.2 * size / 72 / inches_per_unit
    for colour, label in entries:
        ax.add_patch(Rectangle((x, y - square / 2), square, square, fc=tint(colour, 0.55), ec=colour, lw=1.6,
                               zorder=4))
        text(ax, (x + 1.4 * square, y), label, size=size, ha="left")
        x += 1.4 * square + char * _visible_len(label) + 2 * char + gap
    return x


def _visible_len(label: str) -> float:
    """Rough printed width of a label in characters (mathtext markup does not print)."""
    plain = re.sub(r"\\[a-zA-Z]+|[{}$_^]", "", label)
    return len(plain)


def labels(fig: Figure) -> list[str]:
    """Every text a figure draws (titles, labels, keys), for tests and for readers of the code."""
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]


def svg(fig: Figure) -> str:
    """The figure as SVG text (glyphs as paths, no date: identical output between builds)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", facecolor="white", metadata={"Date": None})
    text = _DECIMALS.sub(r"\1", buffer.getvalue())   # a thousandth of a point is plenty
    text = _CLIP.sub("", text)      # the one axes spans the figure: clipping to it changes nothing
    return _INDENT.sub("\n", text)  # indentation only: a quarter of the bytes


def show(fig: Figure):
    """Display ``fig`` as SVG in a notebook (the cell's figure caption then applies to it)."""
    from IPython.display import SVG, display

    display(SVG(svg(fig)))


# --------------------------------------------------------------------------------------------------
# Chapter 1: the Elman RNN


def rnn_unrolled(steps: int = 3) -> Figure:
    """The folded Elman cell (left) and the same network unrolled over ``steps`` steps (right);
    the three shared weight matrices are written, in their own colour, on every use."""
    wx, wh, wy = WEIGHTS["W_xh"], WEIGHTS["W_hh"], WEIGHTS["W_hy"]
    width = 5.6 + 2.3 * steps + 1.2
    fig, ax = canvas(width, 5.4)
    yx, yh, yy = 0.8, 2.6, 4.4

    # folded: one cell with a loop
    cx = 1.3
    box(ax, (cx, yx), "$x_t$", fc=ROLES["x"])
    box(ax, (cx, yh), "$h_t$", fc=ROLES["h"])
    box(ax, (cx, yy), "$y_t$", fc=ROLES["y"])
    arrow(ax, (cx, yx + 0.3), (cx, yh - 0.3), colour=wx, lw=1.8, label="$W_{xh}$",
          label_xy=(cx - 0.55, (yx + yh) / 2))
    arrow(ax, (cx, yh + 0.3), (cx, yy - 0.3), colour=wy, lw=1.8, label="$W_{hy}$",
          label_xy=(cx - 0.55, (yh + yy) / 2))
    wire(ax, [(cx + 0.45, yh), (cx + 1.0, yh), (cx + 1.0, yh + 0.75), (cx + 0.25, yh + 0.75)], colour=wh, lw=1.8)
    arrow(ax, (cx + 0.25, yh + 0.75), (cx + 0.25, yh + 0.3), colour=wh, lw=1.8)
    text(ax, (cx + 1.45, yh + 0.38), "$W_{hh}$", colour=wh, size=11)
    text(ax, (cx + 0.1, 5.1), "folded", size=11, colour="#555555")

    # "unroll"
    arrow(ax, (3.0, yh), (4.0, yh), lw=2.2, head=16)
    text(ax, (3.5, yh + 0.4), "unroll", size=10.5, colour="#555555")

    # unrolled: h_0 -> h_1 -> ... with the same weights at every step
    x0 = 4.8
    box(ax, (x0, yh), "$h_0$", fc=ROLES["h"])
    previous = x0
    for t in range(1, steps + 1):
        xt = x0 + 2.3 * t
        box(ax, (xt, yx), f"$x_{t}$", fc=ROLES["x"])
        box(ax, (xt, yh), f"$h_{t}$", fc=ROLES["h"])
        box(ax, (xt, yy), f"$y_{t}$", fc=ROLES["y"])
        arrow(ax, (xt, yx + 0.3), (xt, yh - 0.3), colour=wx, lw=1.8, label="$W_{xh}$",
              label_xy=(xt - 0.5, (yx + yh) / 2), label_size=10.5)
        arrow(ax, (xt, yh + 0.3), (xt, yy - 0.3), colour=wy, lw=1.8, label="$W_{hy}$",
              label_xy=(xt - 0.5, (yh + yy) / 2), label_size=10.5)
        arrow(ax, (previous + 0.45, yh), (xt - 0.45, yh), colour=wh, lw=1.8, label="$W_{hh}$",
              label_xy=((previous + xt) / 2, yh + 0.3), label_size=10.5)
        previous = xt
    arrow(ax, (previous + 0.45, yh), (previous + 1.2, yh), colour=wh, lw=1.8)
    text(ax, (previous + 1.5, yh), r"$\cdots$", size=14)
    text(ax, ((x0 + previous) / 2, 5.1), "unrolled: the same $W_{xh}$, $W_{hh}$, $W_{hy}$ at every step",
         size=11, colour="#555555")
    return fig


TASK_SHAPES = [
    # title, number of steps, steps with an input, steps with an output
    ("one-to-one\n(image classification)", 1, {0}, {0}),
    ("one-to-many\n(captioning)", 4, {0}, {0, 1, 2, 3}),
    ("many-to-one\n(sentiment)", 4, {0, 1, 2, 3}, {3}),
    ("many-to-many\n(translation)", 6, {0, 1, 2}, {3, 4, 5}),
    ("many-to-many, synchronised\n(tagging)", 4, {0, 1, 2, 3}, {0, 1, 2, 3}),
]


def task_shapes() -> Figure:
    """The five ways to wire a recurrent network, in two rows: inputs below, states in the middle
    (one per time step, linked by the recurrent connection), outputs above."""
    fig, ax = canvas(13.2, 8.6, unit=0.58)
    rows = [TASK_SHAPES[:3], TASK_SHAPES[3:]]
    for r, row in enumerate(rows):
        base = 4.7 - 4.4 * r
        x = 1.9
        for title, n, ins, outs in row:
            for col in range(n):
                cx = x + col
                box(ax, (cx, base + 1.2), w=0.62, h=0.5, fc=ROLES["h"])
                if col in ins:
                    box(ax, (cx, base), w=0.62, h=0.5, fc=ROLES["x"])
                    arrow(ax, (cx, base + 0.25), (cx, base + 0.95), head=9)
                if col in outs:
                    box(ax, (cx, base + 2.4), w=0.62, h=0.5, fc=ROLES["y"])
                    arrow(ax, (cx, base + 1.45), (cx, base + 2.15), head=9)
                if col > 0:
                    arrow(ax, (cx - 0.69, base + 1.2), (cx - 0.31, base + 1.2), head=9)
            text(ax, (x + (n - 1) / 2, base + 3.3), title, size=11)
            x += n + 1.0
        for yrow, name in [(0, "input $x$"), (1.2, "state $h$"), (2.4, "output $y$")]:
            text(ax, (1.45, base + yrow), name, size=10.5, ha="right", colour="#444444")
    return fig


def bptt_graph() -> Figure:
    """The unrolled network as a computational graph around step t, with the two paths by which
    the gradient reaches h_{t-1} (eq-rnn-bptt-dh), in the chapter's symbols."""
    wh, wy = WEIGHTS["W_hh"], WEIGHTS["W_hy"]
    fig, ax = canvas(12.6, 8.4)
    cols = {"t-1": 3.0, "t": 7.4, "t+1": 11.0}
    ya, yh, yy, yl, yx = 1.9, 3.4, 4.9, 6.6, 0.55
    faded_col = {"t-1": False, "t": False, "t+1": True}
    names = {"t-1": "t-1", "t": "t", "t+1": "t+1"}
    for key_, cx in cols.items():
        f, n = faded_col[key_], names[key_]
        box(ax, (cx, yx), f"$x_{{{n}}}$", fc=ROLES["x"], faded=f, w=1.0)
        box(ax, (cx, ya), f"$a_{{{n}}}$", fc="white", faded=f, w=1.0)
        box(ax, (cx, yh), f"$h_{{{n}}}$", fc=ROLES["h"], faded=f, w=1.0)
        box(ax, (cx, yy), f"$y_{{{n}}}$", fc=ROLES["y"], faded=f, w=1.0)
        arrow(ax, (cx, yx + 0.3), (cx, ya - 0.3), colour="#888888", faded=f, head=9)
        arrow(ax, (cx - 0.14, ya + 0.3), (cx - 0.14, yh - 0.3), colour="#888888", faded=f, head=9,
              label=r"$\tanh$", label_xy=(cx - 0.6, (ya + yh) / 2), label_size=10)
        arrow(ax, (cx, yh + 0.3), (cx, yy - 0.3), colour="#888888", faded=f, head=9)
        arrow(ax, (cx, yy + 0.3), (cx, yl - 0.3), colour="#888888", faded=f, head=9)
    box(ax, (7.0, yl), "loss $L$", w=10.5, h=0.6, fc=ROLES["loss"])
    # forward recurrence h_{t-1} -> a_t -> ... (grey), and from the left
    arrow(ax, (0.5, 1.2), (cols["t-1"] - 0.5, ya), colour="#888888", head=9, faded=True)
    text(ax, (0.5, 0.85), "$h_{t-2}$", size=10.5, faded=True)
    arrow(ax, (cols["t-1"] + 0.5, yh), (cols["t"] - 0.5, ya), colour="#888888", head=9)
    arrow(ax, (cols["t"] + 0.5, yh), (cols["t+1"] - 0.5, ya), colour="#888888", head=9, faded=True)

    # backward: the two paths into h_{t-1}
    c0, c1 = cols["t-1"], cols["t"]
    highlight(ax, (c0 - 0.75, yh - 0.5), 1.5, 1.0)
    arrow(ax, (c0 + 0.12, yy - 0.3), (c0 + 0.12, yh + 0.3), colour=wy, lw=2.6, head=15, zorder=5)
    text(ax, (c0 + 0.3, (yy + yh) / 2), r"$\delta y_{t-1}\, W_{hy}^{\top}$", colour=wy, size=12.5, ha="left")
    arrow(ax, (c1 - 0.5, ya - 0.15), (c0 + 0.5, yh - 0.2), colour=wh, lw=2.6, head=15, rad=-0.3, zorder=5)
    text(ax, (5.0, 1.45), r"$\delta a_t\, W_{hh}^{\top}$", colour=wh, size=12.5)
    # how delta a_t comes from delta h_t (eq-rnn-bptt-da)
    arrow(ax, (c1 + 0.14, yh - 0.3), (c1 + 0.14, ya + 0.3), colour=wh, lw=2.0, head=12, zorder=5)
    text(ax, (c1 + 0.3, (ya + yh) / 2), r"$\delta a_t = \delta h_t \odot (1 - h_t \odot h_t)$",
         colour=wh, size=11.5, ha="left")
    arrow(ax, (c1 + 0.14, yy - 0.3), (c1 + 0.14, yh + 0.3), colour=wy, lw=1.6, head=10, faded=True)
    arrow(ax, (cols["t+1"] - 0.5, ya - 0.15), (c1 + 0.5, yh - 0.2), colour=wh, lw=1.6, head=10,
          rad=-0.3, faded=True)
    text(ax, (c1 + 0.6, yh + 0.25), r"$\delta h_t$", size=11.5, ha="left", colour=wh)
    text(ax, (6.6, 8.0),
         r"$\delta h_{t-1} = \delta y_{t-1}\, W_{hy}^{\top} + \delta a_t\, W_{hh}^{\top}$", size=13)
    text(ax, (6.6, 7.45), "the gradient reaches $h_{t-1}$ from its output $y_{t-1}$ and from $h_t$ through $a_t$",
         size=11, colour="#555555")
    return fig


def truncated_bptt(blocks: int = 3, k: int = 4, streams: int = 4) -> Figure:
    """Top: the forward state carried across blocks of ``k`` steps, the backward pass cut at every
    block edge. Bottom: a text cut into ``streams`` rows (the mini-batch) and read block by block."""
    wh = WEIGHTS["W_hh"]
    step = 0.82
    width = 1.4 + blocks * k * step + (blocks - 1) * 0.5 + 1.4
    fig, ax = canvas(width, 10.4, unit=0.6)
    # --- top panel -------------------------------------------------------------------------------
    yh, top = 8.1, 9.9
    text(ax, (width / 2, top), "truncated BPTT on one sequence: blocks of $k$ steps", size=12)
    xs = []
    x = 1.4
    for b in range(blocks):
        start = x
        for _ in range(k):
            xs.append((b, x))
            x += step
        ax.add_patch(FancyBboxPatch((start - 0.4, yh - 1.15), k * step - 0.02, 2.05,
                                    boxstyle="round,pad=0,rounding_size=0.2", fc="#F4F4F4", ec="#BBBBBB",
                                    lw=1.0, zorder=0))
        text(ax, (start - 0.4 + k * step / 2, yh + 0.65), f"block {b + 1}", size=10.5, colour="#555555")
        x += 0.5
    box(ax, (0.55, yh), "$h_0$", w=0.6, h=0.5, fc=ROLES["h"], size=10.5)
    prev_x, prev_b = 0.55, None
    for b, cx in xs:
        box(ax, (cx, yh), "", w=0.5, h=0.5, fc=ROLES["h"])
        carried = prev_b is not None and prev_b != b
        arrow(ax, (prev_x + 0.28, yh), (cx - 0.27, yh), colour=INK, lw=2.2 if carried else 1.3, head=10)
        if prev_b is not None and not carried:
            arrow(ax, (cx - 0.1, yh - 0.55), (prev_x + 0.1, yh - 0.55), colour=wh, lw=1.6, head=9)
        if carried:
            # the gradient that would cross the edge is dropped: h.detach()
            edge = (prev_x + cx) / 2
            wire(ax, [(cx - 0.25, yh - 0.6), (edge + 0.05, yh - 0.6)], colour=wh, lw=1.6, ls=(0, (2, 2)))
            text(ax, (edge, yh - 0.6), "×", size=17, colour=wh, weight="bold")
        prev_x, prev_b = cx, b
    text(ax, (1.0, yh + 1.25), "forward: the state is carried across every block edge", size=10.5,
         ha="left", colour=INK)
    text(ax, (1.0, yh - 1.5), "backward: inside a block only; cut ($\\times$, detach) at each edge",
         size=10.5, ha="left", colour=wh)

    # --- bottom panel: B streams of the text ----------------------------------------------------
    text(ax, (width / 2, 5.55), f"a mini-batch: the text cut into $B = {streams}$ streams, read in blocks of $K$",
         size=12)
    y_text = 4.75
    seg = (width - 2.6) / streams
    stream_colours = ["#E8D5F0", "#D5E8F0", "#D9F0D5", "#F5E6CC", "#F0D5D5", "#E0E0E0"]
    for b in range(streams):
        ax.add_patch(Rectangle((1.8 + b * seg, y_text - 0.22), seg, 0.44, fc=stream_colours[b % 6],
                               ec="#777777", lw=0.8, zorder=2))
        text(ax, (1.8 + b * seg + 0.06, y_text + 0.42), f"${b}\\cdot L$" if b else "$0$", size=10, ha="left")
    text(ax, (1.65, y_text), "text", size=10.5, ha="right")
    y0 = 3.3
    row_h = 0.62
    blocks_per_row = 4
    block_w = seg / blocks_per_row
    for b in range(streams):
        yb = y0 - b * row_h
        for j in range(blocks_per_row):
            ax.add_patch(Rectangle((1.8 + j * block_w, yb - 0.24), block_w, 0.48, fc=stream_colours[b % 6],
                                   ec="#777777", lw=0.8, zorder=2))
        text(ax, (1.65, yb), f"row {b}", size=10.5, ha="right")
    for j in range(blocks_per_row):
        text(ax, (1.8 + (j + 0.5) * block_w, y0 - streams * row_h + 0.12), f"{j + 1}", size=10,
             colour="#555555")
    text(ax, (1.65, y0 - streams * row_h + 0.12), "update", size=10, ha="right", colour="#555555")
    arrow(ax, (1.8 + seg * 0.5, y_text - 0.3), (1.8 + seg * 0.5, y0 + 0.3), colour="#777777", head=9)
    text(ax, (1.8 + seg + 0.5, y0 + 0.05),
         "the $B \\times L$ matrix of the mini-batch:\n"
         "row $b$ = tokens $b\\cdot L$ to $(b+1)\\cdot L - 1$ of the text;\n"
         "update $j$ reads the $j$-th block of $K$ columns\n"
         "of every row, and each row's state is carried\n"
         "to its next block",
         size=10.5, ha="left", va="top")
    return fig


# --------------------------------------------------------------------------------------------------
# Chapter 2: the product of Jacobians


def jacobian_chain() -> Figure:
    """The states h_{T-k} ... h_T, the forward steps above, and the Jacobians J_t = diag(1 - h_t^2) W_hh^T
    that carry a gradient back below (eq-grad-jacobian, eq-grad-product)."""
    wh = WEIGHTS["W_hh"]
    fig, ax = canvas(12.6, 5.2)
    names = ["h_{T-k}", "h_{T-k+1}", None, "h_{T-1}", "h_T"]
    jac = ["J_{T-k+1}", None, "J_{T-1}", "J_T"]
    xs = [1.2, 3.9, 6.3, 8.7, 11.4]
    y = 3.6
    for x, n in zip(xs, names, strict=True):
        if n is None:
            text(ax, (x, y), r"$\cdots$", size=16)
        else:
            box(ax, (x, y), f"${n}$", w=1.5, h=0.7, fc=ROLES["h"], size=13)
    for i in range(4):
        a, b = xs[i], xs[i + 1]
        left = a + (0.75 if names[i] else 0.4)
        right = b - (0.75 if names[i + 1] else 0.4)
        arrow(ax, (left, y + 0.12), (right, y + 0.12), colour="#888888", head=9)
        arrow(ax, (right, y - 0.2), (left, y - 0.2), colour=wh, lw=2.0, head=13, rad=-0.45)
        if jac[i]:
            text(ax, ((a + b) / 2, y - 1.0), f"${jac[i]}$", colour=wh, size=13)
    text(ax, (6.3, y + 0.9), r"forward: $h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b_h)$", size=11.5,
         colour="#555555")
    text(ax, (6.3, 1.2), r"$J_t = \partial h_t / \partial h_{t-1} = \mathrm{diag}(1 - h_t^2)\, W_{hh}^{\top}$",
         size=13, colour=wh)
    text(ax, (6.3, 0.45),
         r"$\partial h_T / \partial h_{T-k} = J_T\, J_{T-1} \cdots J_{T-k+1}$"
         r"        $\bar h_{T-k} = \bar h_T\, J_T\, J_{T-1} \cdots J_{T-k+1}$",
         size=13)
    text(ax, (6.3, 1.85), "backward: one Jacobian per step, the latest on the left", size=11.5, colour=wh)
    return fig


# --------------------------------------------------------------------------------------------------
# Chapter 3: the LSTM cell

LSTM_STAGES = {
    # what each stage of the build-up highlights (parts drawn in full; the rest is faded)
    "forget": {"bus", "forget", "cellpath_forget"},
    "input": {"bus", "input", "candidate", "write"},
    "cell": {"forget", "input", "candidate", "write", "cellpath_forget", "cellpath_write", "cellpath"},
    "output": {"bus", "output", "readout"},
}
LSTM_TITLES = {
    "forget": "forget gate $f_t$: how much of $c_{t-1}$ survives",
    "input": "input gate $i_t$ and candidate $g_t$: what is written",
    "cell": r"cell update $c_t = f_t \odot c_{t-1} + i_t \odot g_t$",
    "output": r"output gate $o_t$ and hidden update $h_t = o_t \odot \tanh(c_t)$",
}


def _lstm(ax, ox: float, oy: float, shown: set[str] | None, *, note: bool = False):
    """One LSTM step drawn at offset (ox, oy); parts not in ``shown`` are faded (``None``: all shown)."""

    def faded(part: str) -> bool:
        return shown is not None and part not in shown

    cell = ROLES["cell"]
    P = lambda x, y: (ox + x, oy + y)  # noqa: E731 - a local coordinate shift
    yc, ybus, ygate, ywrite, yread, yhid = 5.0, 0.9, 2.4, 3.75, 3.9, 2.4
    xf, xi, xg, xo, xt = 2.2, 4.2, 5.6, 7.6, 9.0
    fs = 13
    # frame
    ax.add_patch(FancyBboxPatch(P(0, 0), 10.6, 6.0, boxstyle="round,pad=0.1,rounding_size=0.4",
                                fc="#FAFAFA", ec="#999999", lw=1.0, zorder=0))
    # cell state: c_{t-1} -> (x f_t) -> (+ i_t g_t) -> c_t, no matrix product on the way
    cp = faded("cellpath") and faded("cellpath_forget")
    wire(ax, [P(-1.3, yc), P(xf - 0.28, yc)], colour=cell, lw=3.0, faded=cp)
    wire(ax, [P(xf + 0.28, yc), P(xg - 0.28, yc)], colour=cell, lw=3.0, faded=faded("cellpath") and faded("cellpath_write"))
    arrow(ax, P(xg + 0.28, yc), P(11.9, yc), colour=cell, lw=3.0, head=15,
          faded=faded("cellpath") and faded("readout"))
    op(ax, P(xf, yc), "⊙", faded=faded("cellpath_forget"))
    op(ax, P(xg, yc), "+", faded=faded("cellpath_write"))
    text(ax, P(-1.2, yc + 0.35), "$c_{t-1}$", colour=cell, faded=cp, ha="left", size=fs)
    text(ax, P(11.2, yc + 0.35), "$c_t$", colour=cell, faded=faded("cellpath") and faded("readout"), size=fs)
    if note:
        text(ax, P(3.9, yc + 0.62), r"cell state: only $\odot$ and $+$, no matrix product", colour=cell,
             size=11.5)
    # the bus [x_t, h_{t-1}]
    fb = faded("bus")
    wire(ax, [P(-1.3, ybus), P(xo, ybus)], faded=fb)
    text(ax, P(-1.2, ybus + 0.3), "$h_{t-1}$", faded=fb, ha="left", size=fs)
    wire(ax, [P(0.7, -1.1), P(0.7, ybus)], faded=fb)
    dot(ax, P(0.7, ybus), faded=fb)
    text(ax, P(0.9, -0.95), "$x_t$", faded=fb, ha="left", size=fs)
    text(ax, P(1.1, ybus - 0.42), r"$[x_t, h_{t-1}]$", faded=fb, ha="left", size=11, colour="#555555")
    # the four affine maps: three gates and the candidate
    for x, kind, act, sym, dx in [(xf, "forget", r"$\sigma$", "f_t", -0.6), (xi, "input", r"$\sigma$", "i_t", -0.6),
                                  (xg, "candidate", r"$\tanh$", "g_t", 0.62), (xo, "output", r"$\sigma$", "o_t", -0.62)]:
        fa = faded(kind)
        arrow(ax, P(x, ybus), P(x, ygate - 0.31), faded=fa, head=9)
        gate(ax, P(x, ygate), kind, act, faded=fa, size=12 if act != r"$\sigma$" else 13, w=1.0)
        text(ax, P(x + dx, ygate + 0.55), f"${sym}$", colour=GATES[kind], faded=fa, size=fs)
    # f_t scales the old cell; i_t (x) g_t is added to it
    arrow(ax, P(xf, ygate + 0.31), P(xf, yc - 0.28), colour=GATES["forget"], faded=faded("forget"), head=9)
    fw = faded("write")
    op(ax, P(xg, ywrite), "⊙", faded=fw)
    wire(ax, [P(xi, ygate + 0.31), P(xi, ywrite)], colour=GATES["input"], faded=faded("input"))
    arrow(ax, P(xi, ywrite), P(xg - 0.28, ywrite), colour=GATES["input"], faded=faded("input"), head=9)
    arrow(ax, P(xg, ygate + 0.31), P(xg, ywrite - 0.28), colour=GATES["candidate"], faded=faded("candidate"),
          head=9)
    arrow(ax, P(xg, ywrite + 0.28), P(xg, yc - 0.28), faded=fw, head=9)
    # read-out: h_t = o_t (x) tanh(c_t)
    fr = faded("readout")
    wire(ax, [P(xt, yc), P(xt, yread + 0.28)], colour=cell, faded=fr, lw=1.8)
    dot(ax, P(xt, yc), colour=cell, faded=fr)
    box(ax, P(xt, yread), r"$\tanh$", w=1.0, h=0.5, faded=fr, size=11, round_=0.2)
    arrow(ax, P(xt, yread - 0.25), P(xt, yhid + 0.28), faded=fr, head=9)
    op(ax, P(xt, yhid), "⊙", faded=fr)
    arrow(ax, P(xo + 0.45, ygate), P(xt - 0.28, yhid), colour=GATES["output"], faded=faded("output"), head=9)
    # h_t leaves twice: to the next step (right) and to the layer above (up)
    wire(ax, [P(xt, yhid - 0.28), P(xt, ybus - 0.55), P(10.4, ybus - 0.55)], faded=fr)
    arrow(ax, P(10.4, ybus - 0.55), P(11.9, ybus - 0.55), faded=fr, head=10)
    text(ax, P(11.3, ybus - 0.25), "$h_t$", faded=fr, size=fs)
    wire(ax, [P(xt + 0.28, yhid), P(10.0, yhid)], faded=fr)
    arrow(ax, P(10.0, yhid), P(10.0, 6.6), faded=fr, head=10, halo=True)
    text(ax, P(10.15, 6.85), "$h_t$", faded=fr, size=fs, ha="left")


def _lstm_key(ax, xy, size: float = 11):
    entries = [(GATES[k], f"{name} ${sym}$") for k, (name, sym) in LSTM_PARTS.items()]
    return key(ax, xy, entries, size=size)


def lstm_cell() -> Figure:
    """The whole LSTM step (eq-lstm-gates, eq-lstm-cell, eq-lstm-hidden), with the cell-state path
    c_{t-1} -> c_t marked as the one without a matrix product."""
    fig, ax = canvas(14.0, 9.0, unit=0.56)
    _lstm(ax, 1.6, 1.7, None, note=True)
    _lstm_key(ax, (0.3, 0.35), size=12)
    return fig


def lstm_stage(stage: str) -> Figure:
    """The LSTM step with one computation in colour and the rest faded: ``stage`` is "forget" (the
    forget gate), "input" (the input gate and the candidate), "cell" (the cell update) or "output"
    (the output gate and the hidden update). Shown one after the other they build the cell up."""
    fig, ax = canvas(14.0, 8.9, unit=0.48)
    _lstm(ax, 1.6, 1.55, LSTM_STAGES[stage])
    text(ax, (6.9, 8.55), LSTM_TITLES[stage], size=13)
    return fig


# --------------------------------------------------------------------------------------------------
# Chapter 4: the GRU, in the notes' convention and in PyTorch's


def _gru(ax, ox: float, oy: float, convention: str):
    """One GRU step at offset (ox, oy); ``convention`` is "notes" (this course) or "pytorch"."""
    P = lambda x, y: (ox + x, oy + y)  # noqa: E731 - a local coordinate shift
    torch_ = convention == "pytorch"
    ys, ybus, ygate, yj, ycand, yr = 6.4, 1.0, 2.2, 5.0, 3.7, 2.95
    xr, xdrop, xm, xk, xz, xq, xw = 2.2, 3.6, 5.2, 6.0, 7.4, 8.6, 10.0
    z_sym = "z'_t" if torch_ else "z_t"
    cand_sym = "n_t" if torch_ else r"\tilde h_t"
    r_col, z_col, c_col = GATES["reset"], GATES["update"], GATES["candidate"]
    # what differs between the two conventions, highlighted in both panels
    highlight(ax, P(xdrop - 0.6, ycand - 0.55), xm - xdrop + 1.2, 1.1)
    if torch_:
        highlight(ax, P(8.2, yj - 0.45), 1.0, 0.9)
    else:
        highlight(ax, P(xk - 0.5, 5.2), 1.0, 0.9)
    # state line
    wire(ax, [P(-0.2, ys), P(xk - 0.28, ys)], lw=2.2)
    wire(ax, [P(xk + 0.28, ys), P(xw - 0.28, ys)], lw=2.2)
    arrow(ax, P(xw + 0.28, ys), P(11.6, ys), lw=2.2, head=14)
    text(ax, P(-0.1, ys + 0.4), "$h_{t-1}$", ha="left")
    text(ax, P(11.3, ys + 0.4), "$h_t$")
    op(ax, P(xk, ys), "⊙")
    op(ax, P(xw, ys), "+")
    # bus [x_t, h_{t-1}] into the two gates; x_t alone into the candidate
    wire(ax, [P(0.8, ys), P(0.8, ybus), P(xz, ybus)])
    dot(ax, P(0.8, ys))
    wire(ax, [P(0.35, -0.3), P(0.35, 0.4), P(xq, 0.4), P(xq, ygate - 0.28)])
    wire(ax, [P(0.35, 0.4), P(0.35, ybus), P(0.8, ybus)])
    dot(ax, P(0.35, 0.4))
    text(ax, P(0.55, -0.2), "$x_t$", ha="left")
    for x, kind in [(xr, "reset"), (xz, "update")]:
        arrow(ax, P(x, ybus), P(x, ygate - 0.31), head=9)
        gate(ax, P(x, ygate), kind)
    text(ax, P(xr - 0.75, ygate + 0.5), "$r_t$", colour=r_col)
    text(ax, P(xz - 0.75, ygate + 0.5), f"${z_sym}$", colour=z_col)
    # the candidate: x_t W_xh + (the reset part) -> tanh
    box(ax, P(xq, ygate), "$W_{in}$" if torch_ else "$W_{xh}$", w=0.9, h=0.55, size=11)
    op(ax, P(xq, ycand), "+")
    arrow(ax, P(xq, ygate + 0.28), P(xq, ycand - 0.28), head=9)
    gate(ax, P(xw, ycand), "candidate", r"$\tanh$", size=11, w=1.0)
    arrow(ax, P(xq + 0.28, ycand), P(xw - 0.5, ycand), head=9)
    text(ax, P(xw + 0.65, ycand + 0.55), f"${cand_sym}$", colour=c_col, ha="left")
    product = "$W_{hn}$" if torch_ else "$W_{hh}$"
    wire(ax, [P(xdrop, ys), P(xdrop, ycand + 0.28)])
    dot(ax, P(xdrop, ys))
    if not torch_:
        # r_t (x) h_{t-1} first, then the matrix product
        op(ax, P(xdrop, ycand), "⊙")
        wire(ax, [P(xr, ygate + 0.31), P(xr, yr), P(xdrop, yr)], colour=r_col)
        arrow(ax, P(xdrop, yr), P(xdrop, ycand - 0.28), colour=r_col, head=9)
        box(ax, P(xm, ycand), product, w=0.9, h=0.55, size=11)
        arrow(ax, P(xdrop + 0.28, ycand), P(xm - 0.45, ycand), head=9)
        arrow(ax, P(xm + 0.45, ycand), P(xq - 0.28, ycand), head=9, halo=True)
    else:
        # the matrix product first, then r_t (x) (h_{t-1} W_hn + b_hn)
        box(ax, P(xdrop, ycand), product, w=0.9, h=0.55, size=11)
        op(ax, P(xm, ycand), "⊙")
        arrow(ax, P(xdrop + 0.45, ycand), P(xm - 0.28, ycand), head=9)
        wire(ax, [P(xr, ygate + 0.31), P(xr, yr), P(xm, yr)], colour=r_col)
        arrow(ax, P(xm, yr), P(xm, ycand - 0.28), colour=r_col, head=9)
        arrow(ax, P(xm + 0.28, ycand), P(xq - 0.28, ycand), head=9, halo=True)
    # the update gate mixes the old state and the candidate
    op(ax, P(xw, yj), "⊙")
    arrow(ax, P(xw, ycand + 0.31), P(xw, yj - 0.28), colour=c_col, head=9)
    arrow(ax, P(xw, yj + 0.28), P(xw, ys - 0.28), head=9)
    wire(ax, [P(xz, ygate + 0.31), P(xz, yj)], colour=z_col, zorder=1)
    dot(ax, P(xz, yj), colour=z_col)
    if not torch_:
        arrow(ax, P(xz, yj), P(xw - 0.28, yj), colour=z_col, head=9)
        wire(ax, [P(xz, yj), P(xk, yj), P(xk, 5.65 - 0.28)], colour=z_col)
        op(ax, P(xk, 5.65), "1−", size=10, ec=z_col)
        arrow(ax, P(xk, 5.65 + 0.28), P(xk, ys - 0.28), colour=z_col, head=9)
        text(ax, P(xk - 0.95, 5.65), "$1-z_t$", colour=z_col, size=11)
        text(ax, P(6.0, ys + 0.85), "differs: reset before the product; $z_t$ weights the candidate", size=11,
             colour="#6b5800")
    else:
        op(ax, P(8.7, yj), "1−", size=10, ec=z_col)
        wire(ax, [P(xz, yj), P(8.7 - 0.28, yj)], colour=z_col)
        arrow(ax, P(8.7 + 0.28, yj), P(xw - 0.28, yj), colour=z_col, head=9)
        wire(ax, [P(xz, yj), P(xk, yj)], colour=z_col)
        arrow(ax, P(xk, yj), P(xk, ys - 0.28), colour=z_col, head=9)
        text(ax, P(8.7, 5.7), "$1-z'_t$", colour=z_col, size=11)
        text(ax, P(6.0, ys + 0.85), "differs: reset after the product; $z'_t$ weights the old state", size=11,
             colour="#6b5800")


def gru_conventions() -> Figure:
    """The GRU step as the notes (and this course) write it, above torch.nn.GRU's: the update
    gate weights the other side, and the reset gate sits after the recurrent matrix product."""
    fig, ax = canvas(12.6, 18.6, unit=0.52)
    _gru(ax, 0.4, 10.2, "notes")
    _gru(ax, 0.4, 1.6, "pytorch")
    text(ax, (6.3, 18.1), r"the notes and this course: $h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t$",
         size=12.5)
    text(ax, (6.3, 9.5), r"PyTorch's nn.GRU: $h_t = (1 - z'_t) \odot n_t + z'_t \odot h_{t-1}$", size=12.5)
    entries = [(GATES[k], f"{name} ${sym}$") for k, (name, sym) in GRU_PARTS.items()]
    x = key(ax, (0.3, 0.45), entries, size=11.5, gap=0.1)
    text(ax, (x, 0.45), "(PyTorch: $z'_t$, $n_t$)", size=11.5, ha="left")
    return fig


# --------------------------------------------------------------------------------------------------
# Chapter 5: sequence to sequence


def _encoder(ax, x0: float, y_h: float, S: int = 4, *, step: float = 1.5, faded: bool = False):
    """Tokens x_1..x_S, embedded by E_x, read by the encoder LSTM into h_1..h_S; returns the xs."""
    xs = []
    names = ["x_1", "x_2", r"\cdots", "x_S"][:S]
    states = ["h_1", "h_2", r"\cdots", "h_S"][:S]
    for j in range(S):
        x = x0 + j * step
        xs.append(x)
        if names[j] == r"\cdots":
            text(ax, (x, y_h), r"$\cdots$", size=14, faded=faded)
            text(ax, (x, y_h - 1.7), r"$\cdots$", size=14, faded=faded)
            continue
        box(ax, (x, y_h - 1.7), f"${names[j]}$", fc=ROLES["x"], faded=faded)
        arrow(ax, (x, y_h - 1.4), (x, y_h - 0.3), head=9, faded=faded, label="$E_x$",
              label_xy=(x + 0.32, y_h - 0.85), label_size=10.5)
        box(ax, (x, y_h), f"${states[j]}$", fc=ROLES["h"], faded=faded)
    for a, b in zip(xs[:-1], xs[1:], strict=True):
        arrow(ax, (a + 0.45, y_h), (b - 0.45, y_h), head=9, faded=faded)
    return xs


def _decoder(ax, x0: float, y_d: float, T: int = 3, *, step: float = 1.7, feed: str = "teacher",
             predicts: bool = True):
    """Inputs y_0..y_{T-1} (embedded by E_y), states d_1..d_T, outputs; returns the xs."""
    xs = [x0 + j * step for j in range(T)]
    for j, x in enumerate(xs):
        tok = f"y_{j}" if (feed == "teacher" or j == 0) else rf"\hat y_{j}"
        box(ax, (x, y_d - 1.7), f"${tok}$", fc=ROLES["x"])
        arrow(ax, (x, y_d - 1.4), (x, y_d - 0.3), head=9, label="$E_y$", label_xy=(x - 0.32, y_d - 0.85),
              label_size=10.5)
        box(ax, (x, y_d), f"$d_{j + 1}$", fc=ROLES["h"])
        out = f"y_{j + 1}" if feed == "teacher" else rf"\hat y_{j + 1}"
        box(ax, (x, y_d + 1.75), "softmax", w=1.25, h=0.5, size=10.5)
        arrow(ax, (x, y_d + 0.3), (x, y_d + 1.5), head=9)
        if predicts:
            text(ax, (x, y_d + 2.35), f"${out}$" if feed == "greedy" else f"predicts ${out}$", size=11)
        if feed == "greedy" and j + 1 < T:
            # the output is fed back: up from the prediction, across, down between the columns
            nxt, red, mid = xs[j + 1], "#B03A2E", x + step / 2
            wire(ax, [(x + 0.25, y_d + 2.35), (mid, y_d + 2.35), (mid, y_d - 1.7)], colour=red, lw=1.5,
                 ls="--", halo=True, zorder=3)
            arrow(ax, (mid, y_d - 1.7), (nxt - 0.45, y_d - 1.7), colour=red, lw=1.5, head=10)
    for a, b in zip(xs[:-1], xs[1:], strict=True):
        arrow(ax, (a + 0.45, y_d), (b - 0.45, y_d), head=9)
    return xs


def seq2seq_feeding() -> Figure:
    """Encoder, context vector and decoder, twice: with teacher forcing (the true previous token is
    the next input) and at inference (greedy: the decoder's own output is fed back)."""
    fig, ax = canvas(13.8, 12.4, unit=0.55)
    for r, feed in enumerate(["teacher", "greedy"]):
        yb = 7.0 - 6.4 * r
        y_h = yb + 2.0
        xs = _encoder(ax, 1.0, y_h)
        v = xs[-1]
        highlight(ax, (v - 0.75, y_h - 0.55), 1.5, 1.1, colour=ROLES["context"])
        text(ax, (v, y_h + 0.8), r"context $\mathbf{v} = h_S$", size=11)
        dx = _decoder(ax, 8.1, y_h, feed=feed)
        arrow(ax, (v + 0.45, y_h), (dx[0] - 0.45, y_h), lw=2.2, head=13, colour="#8a6d00",
              label="$(h_S, c_S)$", label_xy=((v + dx[0]) / 2, y_h - 0.5), label_size=10.5)
        title = ("training, teacher forcing: the inputs are the true previous tokens" if feed == "teacher"
                 else r"inference, greedy: each output $\hat y_t$ is the next input")
        text(ax, (6.9, yb + 4.95), title, size=12)
        text(ax, (3.2, yb - 0.35), "encoder", size=11, colour="#555555")
        text(ax, (dx[1], yb - 0.35), "decoder", size=11, colour="#555555")
    return fig


def seq2seq_peeky() -> Figure:
    """The peeky decoder: the context vector v is concatenated to every decoder input and to every
    read-out's input, not only handed over as the initial state."""
    gold = "#8a6d00"
    fig, ax = canvas(13.8, 7.3, unit=0.55)
    y_h = 3.1
    xs = _encoder(ax, 1.0, y_h)
    v = xs[-1]
    highlight(ax, (v - 0.75, y_h - 0.55), 1.5, 1.1, colour=ROLES["context"])
    text(ax, (v - 0.95, y_h + 0.85), r"$\mathbf{v} = h_S$", size=11)
    dx = _decoder(ax, 8.1, y_h, feed="teacher", predicts=False)
    arrow(ax, (v + 0.45, y_h), (dx[0] - 0.45, y_h), lw=2.2, head=13, colour=gold)
    top, bottom, mid = y_h + 3.0, y_h - 2.55, (v + dx[0]) / 2
    # v travels on a bus along the top (to every read-out) and the bottom (to every input)
    wire(ax, [(v, y_h + 0.3), (v, top), (dx[-1] + 0.45, top)], colour=gold, lw=1.8)
    wire(ax, [(mid, top), (mid, bottom), (dx[-1] + 0.45, bottom)], colour=gold, lw=1.8, halo=True, zorder=4)
    dot(ax, (mid, top), colour=gold)
    for x in dx:
        arrow(ax, (x + 0.45, top), (x + 0.45, y_h + 2.0), colour=gold, head=9, lw=1.4)
        arrow(ax, (x + 0.45, bottom), (x + 0.3, y_h - 0.3), colour=gold, head=9, lw=1.4)
    text(ax, (dx[1], top + 0.4), r"$[d_t, \mathbf{v}]$ into every read-out", size=11, colour=gold)
    text(ax, (dx[1], bottom - 0.4), r"$[E_y[y_{t-1}], \mathbf{v}]$ into every decoder step", size=11,
         colour=gold)
    text(ax, (3.2, y_h - 2.35), "encoder", size=11, colour="#555555")
    return fig


def seq2seq_attention(weights=(0.08, 0.12, 0.25, 0.55)) -> Figure:
    """The attention decoder at one target step t: scores e_{t,s} of d_t against every encoder state
    h_s, weights alpha_{t,s} (drawn as line widths), the read-out v_t = sum_s alpha_{t,s} h_s
    (eq-seq2seq-attention). ``weights`` are illustrative, not measured."""
    att = ROLES["attention"]
    fig, ax = canvas(13.4, 8.4, unit=0.55)
    y_h = 2.6
    S = len(weights)
    xs = [1.0 + 1.5 * j for j in range(S)]
    for j, x in enumerate(xs):
        box(ax, (x, y_h - 1.5), f"$x_{j + 1}$", fc=ROLES["x"])
        arrow(ax, (x, y_h - 1.2), (x, y_h - 0.3), head=9)
        box(ax, (x, y_h), f"$h_{j + 1}$", fc=ROLES["h"])
    for a, b in zip(xs[:-1], xs[1:], strict=True):
        arrow(ax, (a + 0.45, y_h), (b - 0.45, y_h), head=9)
    text(ax, ((xs[0] + xs[-1]) / 2, y_h - 2.3), f"encoder states $h_s$, $s = 1, \\dots, {S}$", size=11,
         colour="#555555")
    # the decoder step t
    xd, yd = 10.4, y_h
    box(ax, (xd, yd - 1.5), "$y_{t-1}$", fc=ROLES["x"])
    arrow(ax, (xd, yd - 1.2), (xd, yd - 0.3), head=9)
    box(ax, (xd, yd), "$d_t$", fc=ROLES["h"])
    arrow(ax, (xd - 1.3, yd), (xd - 0.45, yd), head=9, label="$d_{t-1}$", label_xy=(xd - 1.0, yd + 0.3),
          label_size=10.5)
    # weights: one line per source position, width proportional to alpha_{t,s}
    ya = 5.3
    box(ax, (6.2, ya), r"$e_{t,s} = d_t \cdot h_s$,   $\alpha_{t,s} = \mathrm{softmax}_s(e_{t,s})$", w=6.6, h=0.7,
        fc=tint(att, 0.85), ec=att, size=11.5)
    for j, (x, a) in enumerate(zip(xs, weights, strict=True)):
        arrow(ax, (x, y_h + 0.3), (4.2 + 1.3 * j, ya - 0.35), colour=att, lw=0.6 + 9 * a, head=8)
    arrow(ax, (xd - 0.2, yd + 0.3), (8.6, ya - 0.35), colour=INK, head=9, lw=1.2)
    text(ax, (xs[0] - 0.5, y_h + 1.55), r"line width $\propto \alpha_{t,s}$", size=10.5, colour=att, ha="left")
    # the read-out v_t and the softmax
    yv = 6.9
    box(ax, (6.2, yv), r"$\mathbf{v}_t = \sum_s \alpha_{t,s}\, h_s$", w=3.4, h=0.65, fc=tint(att, 0.85), ec=att,
        size=11.5)
    arrow(ax, (6.2, ya + 0.35), (6.2, yv - 0.33), colour=att, head=10)
    box(ax, (xd, yv), r"softmax$([d_t, \mathbf{v}_t]\, W_{out} + b_{out})$", w=4.0, h=0.65, size=11)
    arrow(ax, (7.9, yv), (xd - 2.0, yv), colour=att, head=10)
    arrow(ax, (xd + 0.3, yd + 0.3), (xd + 0.3, yv - 0.33), head=9)
    text(ax, (xd, yv + 0.75), r"$p(y_t \mid \cdot)$", size=11.5)
    return fig


# --------------------------------------------------------------------------------------------------
# Chapter 1: deeper and two-way


def deep_and_bidirectional(steps: int = 3) -> Figure:
    """Two ways to grow an Elman RNN, unrolled over ``steps`` steps: a stack of two layers (left; the
    states of layer 1 are the inputs of layer 2, where dropout goes in training) and a bidirectional
    layer (right; a forward and a backward recurrence over the same inputs, read out together)."""
    wx, wh, wy = WEIGHTS["W_xh"], WEIGHTS["W_hh"], WEIGHTS["W_hy"]
    step = 2.2
    x0 = 2.0 + step * (steps - 1) + 2.6          # where the right panel starts
    fig, ax = canvas(x0 + 1.0 + step * (steps - 1) + 2.6, 8.0, unit=0.52)
    yx, y1, y2, yy = 0.8, 2.6, 4.4, 6.2

    # left: two layers stacked
    xs = [2.0 + step * t for t in range(steps)]
    for t, x in enumerate(xs, start=1):
        box(ax, (x, yx), f"$x_{t}$", fc=ROLES["x"])
        box(ax, (x, y1), f"$h^{{(1)}}_{t}$", fc=ROLES["h"])
        box(ax, (x, y2), f"$h^{{(2)}}_{t}$", fc=ROLES["h"])
        box(ax, (x, yy), f"$y_{t}$", fc=ROLES["y"])
        arrow(ax, (x, yx + 0.3), (x, y1 - 0.3), colour=wx, lw=1.8, head=10)
        arrow(ax, (x, y1 + 0.3), (x, y2 - 0.3), colour=wx, lw=1.8, head=10, ls=(0, (3, 2)))
        arrow(ax, (x, y2 + 0.3), (x, yy - 0.3), colour=wy, lw=1.8, head=10)
    for y, layer in [(y1, 1), (y2, 2)]:
        arrow(ax, (xs[0] - 1.2, y), (xs[0] - 0.45, y), colour=wh, lw=1.8, head=10)
        text(ax, (xs[0] - 1.0, y + 0.38), f"$h^{{({layer})}}_0$", size=10.5, colour=wh)
        for a, b in zip(xs[:-1], xs[1:], strict=True):
            arrow(ax, (a + 0.45, y), (b - 0.45, y), colour=wh, lw=1.8, head=10)
        text(ax, (xs[-1] + 0.65, y), f"layer {layer}", size=10.5, colour="#555555", ha="left")
    text(ax, ((xs[0] + xs[1]) / 2, (y1 + y2) / 2), "dropout\n(training)", size=9.5, colour="#555555")
    text(ax, ((xs[0] + xs[-1]) / 2, 7.35), "stacked, two layers:\nthe states of layer 1 are the inputs of layer 2",
         size=11, colour="#555555")

    # right: one bidirectional layer
    xs = [x0 + 1.0 + step * t for t in range(steps)]
    yf, yb = y1, y2
    for t, x in enumerate(xs, start=1):
        box(ax, (x, yx), f"$x_{t}$", fc=ROLES["x"])
        box(ax, (x, yf), rf"$\overrightarrow{{h}}_{t}$", fc=ROLES["h"])
        box(ax, (x, yb), rf"$\overleftarrow{{h}}_{t}$", fc=ROLES["h"])
        box(ax, (x, yy), f"$y_{t}$", fc=ROLES["y"])
        arrow(ax, (x - 0.2, yx + 0.3), (x - 0.2, yf - 0.3), colour=wx, lw=1.6, head=10)
        # the same input goes to the backward recurrence, past the forward state on its right
        wire(ax, [(x + 0.2, yx + 0.3), (x + 0.2, yx + 0.6), (x + 0.68, yx + 0.6), (x + 0.68, yb - 0.6),
                  (x + 0.2, yb - 0.6)], colour=wx, lw=1.6, halo=True, zorder=3.5)
        arrow(ax, (x + 0.2, yb - 0.6), (x + 0.2, yb - 0.3), colour=wx, lw=1.6, head=10)
        # both states feed the read-out: the forward one past the backward state on its left
        wire(ax, [(x - 0.2, yf + 0.3), (x - 0.2, yf + 0.6), (x - 0.68, yf + 0.6), (x - 0.68, yy - 0.6),
                  (x - 0.2, yy - 0.6)], colour=wy, lw=1.6, halo=True, zorder=3.5)
        arrow(ax, (x - 0.2, yy - 0.6), (x - 0.2, yy - 0.3), colour=wy, lw=1.6, head=10)
        arrow(ax, (x + 0.2, yb + 0.3), (x + 0.2, yy - 0.3), colour=wy, lw=1.6, head=10)
    for a, b in zip(xs[:-1], xs[1:], strict=True):
        arrow(ax, (a + 0.45, yf), (b - 0.45, yf), colour=wh, lw=1.8, head=10)
        arrow(ax, (b - 0.45, yb), (a + 0.45, yb), colour=wh, lw=1.8, head=10)
    text(ax, (xs[-1] + 0.9, yf), "forward", size=10.5, colour="#555555", ha="left")
    text(ax, (xs[-1] + 0.9, yb), "backward", size=10.5, colour="#555555", ha="left")
    text(ax, ((xs[0] + xs[-1]) / 2, 7.35),
         "bidirectional, one layer: $y_t$ reads both states,\n"
         r"$[\overrightarrow{h}_t, \overleftarrow{h}_t]$: the past and the future", size=11, colour="#555555")
    return fig


ALL = {
    "rnn_unrolled": rnn_unrolled,
    "task_shapes": task_shapes,
    "bptt_graph": bptt_graph,
    "truncated_bptt": truncated_bptt,
    "jacobian_chain": jacobian_chain,
    "lstm_cell": lstm_cell,
    "lstm_stage": lstm_stage,
    "gru_conventions": gru_conventions,
    "seq2seq_feeding": seq2seq_feeding,
    "seq2seq_peeky": seq2seq_peeky,
    "seq2seq_attention": seq2seq_attention,
    "deep_and_bidirectional": deep_and_bidirectional,
}
"""Every figure kind by name (the tests draw them all)."""
