"""How well the similarity report finds copies, and how often it lists innocent pairs.

A synthetic class of the RNN assignment (01_rnn: ``rnn_cell``, ``rnn_forward``,
``rnn_step_backward``, ``rnn_backward``). Every independent student writes each function in one of
several genuinely different correct ways (matrix products with ``@``, ``np.dot``, ``.dot``,
``np.einsum`` or a stacked weight matrix; a preallocated array, a list and ``np.stack``, a while
loop or a time-major array; gradients in a dict literal, separate lines or an accumulating dict;
BPTT with reversed ranges, a padded state sequence or a while loop), with their own choices inside
each (``np.zeros`` or ``np.empty``, ``x[:, t]`` or ``x[:, t, :]``, ``1 - h**2`` or
``1 - np.square(h)``...), their own variable names, comments and order of independent lines.
Every generated notebook is checked against the reference on random inputs: all are correct.

A planted copy takes another student's answers and disguises them: every local variable renamed,
comments rewritten, independent lines reordered. The benchmark reports, at the default threshold,
how many planted pairs are listed and how many innocent pairs are, and the CPU time of the
comparison for the class.

    .venv/bin/python benchmarks/similarity.py --students 300 --copies 15 --seed 0
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import similarity  # noqa: E402

ASSIGNMENT, NOTEBOOK = "01_rnn", "rnn.ipynb"
FUNCTIONS = ["rnn_cell", "rnn_forward", "rnn_step_backward", "rnn_backward"]

NAMES = {
    "a": ["a", "z", "pre", "pre_act", "s", "lin", "affine", "act_in", "u_t", "net"],
    "u": ["xw", "in_part", "from_x", "x_term", "p"],
    "v": ["hw", "rec_part", "from_h", "h_term", "q"],
    "w": ["W", "W_all", "W_cat", "big_W", "weights"],
    "xh": ["xh", "inp", "joined", "cat", "xh_cat"],
    "h": ["h", "state", "h_t", "cur", "hidden", "prev_h", "hh"],
    "out": ["hs", "out", "states", "H", "all_h", "result", "seq", "outputs"],
    "t": ["t", "i", "step", "k", "idx", "j"],
    "xt": ["x_t", "xi", "inp_t", "frame", "xs_t"],
    "xs": ["xs", "x_tm", "x_time", "seq_x", "xT"],
    "N": ["N", "n", "batch", "B", "bs"],
    "T": ["T", "steps", "n_steps", "length", "L"],
    "d": ["da", "dz", "d_pre", "dtanh", "delta", "g", "d_a", "grad_a"],
    "g": ["grads", "out", "res", "gr", "dd", "result"],
    "dx": ["dx", "d_x", "grad_x", "gx"],
    "dhp": ["dh_prev", "dprev", "d_h", "gh"],
    "dwx": ["dW_xh", "dWx", "gWx", "d_wxh"],
    "dwh": ["dW_hh", "dWh", "gWh", "d_whh"],
    "db": ["db_h", "db", "gb", "d_b"],
    "dn": ["dnext", "carry", "dh_carry", "d_future", "back", "dh_t"],
    "hp": ["h_prev_t", "hp", "before", "h_before", "last"],
    "st": ["step_grads", "loc", "sg", "res_t", "cache", "parts"],
    "hs": ["h_all", "padded", "hh_seq", "full_h", "h_ext"],
    "lst": ["dxs", "dx_list", "collected", "pieces"],
}
COMMENTS = ["# affine part, then the nonlinearity", "# tanh squashes to (-1, 1)", "# loop over time",
            "# keep every hidden state", "# backprop through tanh", "# gradient wrt the weights",
            "# sum over the batch", "# walk backwards in time", "# accumulate the shared weights",
            "# the first step uses h0", "# TODO clean up", "# shapes: (N, H)", "# as in the lecture",
            "# store it", "# chain rule", "# carry the gradient to the previous step"]


@dataclass(frozen=True)
class Student:
    """Everything that makes a student's code theirs: the ways they chose (``ways``), names,
    comments and the order of independent lines (``orders``, one permutation seed per function)."""

    ways: tuple
    names: tuple
    comments: int
    orders: int


def _rng_choice(rng: np.random.Generator, options: list) -> object:
    return options[int(rng.integers(len(options)))]


def draw_ways(rng: np.random.Generator) -> tuple:
    pick = lambda n: int(rng.integers(n))  # noqa: E731
    return (
        pick(7),                   # rnn_cell style
        pick(4), pick(2), pick(2), pick(3),   # forward: style, zeros/empty, slice form, stack form
        pick(3), pick(3), pick(3), pick(3),   # step backward: style, matmul form, derivative, db form
        pick(3), pick(2), pick(2),            # backward: style, loop form, prev-state form
        pick(2**31),  # the small choices inside lines (x.shape[1] or len(x[0]), W.T or W.transpose()...)
    )


def draw_names(rng: np.random.Generator) -> tuple:
    return tuple(sorted((role, _rng_choice(rng, options)) for role, options in NAMES.items()))


def independent(rng: np.random.Generator) -> Student:
    return Student(draw_ways(rng), draw_names(rng), int(rng.integers(2**31)), int(rng.integers(2**31)))


def disguised_copy(source: Student, rng: np.random.Generator) -> Student:
    """Same ways; every name different, new comments, another order of independent lines."""
    names = dict(source.names)
    for role, options in NAMES.items():
        names[role] = _rng_choice(rng, [o for o in options if o != names[role]])
    return replace(source, names=tuple(sorted(names.items())), comments=int(rng.integers(2**31)),
                   orders=int(rng.integers(2**31)))


def _mm(form: int, a: str, b: str) -> str:
    return [f"{a} @ {b}", f"np.dot({a}, {b})", f"{a}.dot({b})"][form]


class Writer:
    """Turns a :class:`Student` into the four answer cells."""

    def __init__(self, student: Student, headers: dict[str, str]) -> None:
        self.s, self.n, self.headers = student, dict(student.names), headers
        self.crng = np.random.default_rng(student.comments)
        self.orng = np.random.default_rng(student.orders)
        self.mrng = np.random.default_rng(student.ways[-1])

    def m(self, *options: str) -> str:
        """One of equivalent ways to write an expression, chosen by this student at this place."""
        return options[int(self.mrng.integers(len(options)))]

    def T(self, a: str) -> str:
        return self.m(f"{a}.T", f"{a}.transpose()", f"np.transpose({a})")

    def zeros_like(self, a: str) -> str:
        return self.m(f"np.zeros_like({a})", f"np.zeros({a}.shape)", f"np.zeros_like({a}, dtype=float)")

    def add_to(self, a: str, b: str) -> str:
        return self.m(f"{a} += {b}", f"{a} = {a} + {b}")

    def h0(self) -> str:
        return self.m("h0", "h0.copy()", "np.array(h0)")

    def dim(self, which: str) -> str:
        return {"N": lambda: self.m("x.shape[0]", "len(x)", "np.shape(x)[0]"),
                "T": lambda: self.m("x.shape[1]", "len(x[0])", "np.shape(x)[1]"),
                "H": lambda: self.m("h0.shape[1]", "W_hh.shape[0]", "W_hh.shape[1]", "b_h.shape[0]", "len(b_h)"),
                "Hb": lambda: self.m("h0.shape[1]", "W_hh.shape[0]", "W_hh.shape[1]", "len(W_hh)")}[which]()

    def shuffle(self, lines: list[str]) -> list[str]:
        """Independent lines, in this student's order."""
        order = self.orng.permutation(len(lines))
        return [lines[i] for i in order]

    def body(self, lines: list[str], name: str) -> str:
        out = []
        for line in lines:
            if self.crng.random() < 0.2:
                indent = line[: len(line) - len(line.lstrip())]
                out.append(indent + _rng_choice(self.crng, COMMENTS))
            out.append(line)
            if self.crng.random() < 0.08 and not line.rstrip().endswith(":"):
                out.append("")
        return self.headers[name] + "\n".join("    " + line if line else "" for line in out) + "\n"

    def rnn_cell(self) -> list[str]:
        n, style = self.n, self.s.ways[0]
        if style == 0:
            return ["return np.tanh(x @ W_xh + h_prev @ W_hh + b_h)"]
        if style == 1:
            return [f"{n['a']} = np.dot(x, W_xh) + np.dot(h_prev, W_hh) + b_h", f"return np.tanh({n['a']})"]
        if style == 2:
            return [f"{n['a']} = x.dot(W_xh)",
                    *self.shuffle([f"{n['a']} = {n['a']} + h_prev.dot(W_hh)", f"{n['a']} = {n['a']} + b_h"]),
                    f"{n['h']} = np.tanh({n['a']})", f"return {n['h']}"]
        if style == 3:
            return [f"{n['a']} = np.matmul(x, W_xh) + np.matmul(h_prev, W_hh) + b_h[np.newaxis, :]",
                    f"return 2.0 / (1.0 + np.exp(-2.0 * {n['a']})) - 1.0"]
        if style == 4:
            return [*self.shuffle([f"{n['w']} = np.concatenate([W_xh, W_hh], axis=0)",
                                   f"{n['xh']} = np.concatenate([x, h_prev], axis=1)"]),
                    f"return np.tanh({n['xh']} @ {n['w']} + b_h)"]
        if style == 5:
            return [f"{n['a']} = np.einsum('nd,dh->nh', x, W_xh) + np.einsum('nk,kh->nh', h_prev, W_hh)",
                    f"return np.tanh({n['a']} + b_h)"]
        return [*self.shuffle([f"{n['u']} = x @ W_xh", f"{n['v']} = h_prev @ W_hh"]),
                f"return np.tanh({n['u']} + {n['v']} + b_h)"]

    def rnn_forward(self) -> list[str]:
        n = self.n
        style, alloc, sl, stack = self.s.ways[1:5]
        zeros = ["np.zeros", "np.empty"][alloc]
        x_at = [f"x[:, {n['t']}, :]", f"x[:, {n['t']}]"][sl]
        cell = f"rnn_cell({{}}, {n['h']}, W_xh, W_hh, b_h)"
        if style == 0:
            return [*self.shuffle([f"{n['N']}, {n['T']}, _ = x.shape", f"{n['h']} = {self.h0()}"]),
                    f"{n['out']} = {zeros}(({n['N']}, {n['T']}, {self.dim('H')}))",
                    f"for {n['t']} in range({n['T']}):",
                    f"    {n['h']} = " + cell.format(x_at),
                    f"    {n['out']}[:, {n['t']}] = {n['h']}" if sl else f"    {n['out']}[:, {n['t']}, :] = {n['h']}",
                    f"return {n['out']}"]
        if style == 1:
            loop = [f"for {n['t']} in range({self.dim('T')}):", f"for {n['xt']} in np.moveaxis(x, 1, 0):",
                    f"for {n['xt']} in x.transpose(1, 0, 2):"][stack]
            arg = x_at if stack == 0 else n["xt"]
            ret = [f"np.stack({n['out']}, axis=1)", f"np.array({n['out']}).transpose(1, 0, 2)",
                   f"np.stack({n['out']}, 1)"][stack]
            return [*self.shuffle([f"{n['out']} = []", f"{n['h']} = {self.h0()}"]), loop,
                    f"    {n['h']} = " + cell.format(arg), f"    {n['out']}.append({n['h']})", f"return {ret}"]
        if style == 2:
            return [*self.shuffle([f"{n['t']} = 0", f"{n['h']} = {self.h0()}", f"{n['out']} = []"]),
                    f"while {n['t']} < {self.dim('T')}:",
                    f"    {n['h']} = " + cell.format(x_at),
                    f"    {n['out']}.append({n['h']}[:, None, :])", f"    {n['t']} += 1",
                    f"return np.concatenate({n['out']}, axis=1)"]
        return [f"{n['xs']} = np.swapaxes(x, 0, 1)",
                *self.shuffle([f"{n['out']} = {zeros}(({self.dim('T')}, {self.dim('N')}, {self.dim('H')}))",
                               f"{n['h']} = {self.h0()}"]),
                f"for {n['t']}, {n['xt']} in enumerate({n['xs']}):",
                f"    {n['h']} = " + cell.format(n["xt"]), f"    {n['out']}[{n['t']}] = {n['h']}",
                f"return np.swapaxes({n['out']}, 0, 1)"]

    def rnn_step_backward(self) -> list[str]:
        n = self.n
        style, mm, deriv, dbf = self.s.ways[5:9]
        d = n["d"]
        first = [f"{d} = dh_next * (1 - h_next ** 2)", f"{d} = dh_next * (1.0 - h_next * h_next)",
                 f"{d} = (1 - np.square(h_next)) * dh_next"][deriv]
        db = [f"np.sum({d}, axis=0)", f"{d}.sum(axis=0)", f"{d}.sum(0)"][dbf]
        exprs = {"dx": _mm(mm, d, self.T("W_xh")), "dh_prev": _mm(mm, d, self.T("W_hh")),
                 "dW_xh": _mm(mm, self.T("x"), d), "dW_hh": _mm(mm, self.T("h_prev"), d), "db_h": db}
        keys = self.shuffle(list(exprs))
        if style == 0:
            return [first, "return {", *(f"    '{k}': {exprs[k]}," for k in keys), "}"]
        if style == 1:
            var = {"dx": n["dx"], "dh_prev": n["dhp"], "dW_xh": n["dwx"], "dW_hh": n["dwh"], "db_h": n["db"]}
            lines = [f"{var[k]} = {exprs[k]}" for k in keys]
            ret = ", ".join(f"{k}={var[k]}" for k in self.shuffle(list(exprs)))
            return [first, *lines, f"return dict({ret})"]
        return [first, f"{n['g']} = {{}}", *(f"{n['g']}['{k}'] = {exprs[k]}" for k in keys), f"return {n['g']}"]

    def rnn_backward(self) -> list[str]:
        n = self.n
        style, loopf, prevf = self.s.ways[9:12]
        t = n["t"]
        inits = self.shuffle([f"{n['dx']} = {self.zeros_like('x')}", f"{n['dwx']} = {self.zeros_like('W_xh')}",
                              f"{n['dwh']} = {self.zeros_like('W_hh')}", f"{n['db']} = np.zeros({self.dim('Hb')})"])
        st = n["st"]
        acc = self.shuffle([self.add_to(n["dwx"], f"{st}['dW_xh']"), self.add_to(n["dwh"], f"{st}['dW_hh']"),
                            self.add_to(n["db"], f"{st}['db_h']")])
        ret_keys = self.shuffle([("dx", n["dx"]), ("dh0", n["dn"]), ("dW_xh", n["dwx"]), ("dW_hh", n["dwh"]),
                                 ("db_h", n["db"])])
        ret = "return {" + ", ".join(f"'{k}': {v}" for k, v in ret_keys) + "}"
        T = self.dim("T")
        loop = [f"for {t} in reversed(range({T})):", f"for {t} in range({T} - 1, -1, -1):"][loopf]
        if style == 0:
            prev = ([f"    {n['hp']} = h[:, {t} - 1] if {t} > 0 else h0"] if prevf == 0 else
                    [f"    if {t} == 0:", f"        {n['hp']} = h0", "    else:", f"        {n['hp']} = h[:, {t} - 1]"])
            return [*inits, f"{n['dn']} = {self.zeros_like('h0')}", loop, *prev,
                    f"    {st} = rnn_step_backward(dh[:, {t}] + {n['dn']}, x[:, {t}], {n['hp']}, h[:, {t}], W_xh, W_hh)",
                    f"    {n['dx']}[:, {t}] = {st}['dx']", *("    " + a for a in acc),
                    f"    {n['dn']} = {st}['dh_prev']", ret]
        if style == 1:
            return [f"{n['hs']} = np.concatenate([h0[:, None, :], h], axis=1)", *inits,
                    f"{n['dn']} = np.zeros(h0.shape)", loop,
                    f"    {st} = rnn_step_backward(dh[:, {t}] + {n['dn']}, x[:, {t}], {n['hs']}[:, {t}], "
                    f"{n['hs']}[:, {t} + 1], W_xh, W_hh)",
                    *("    " + a for a in acc), f"    {n['dx']}[:, {t}] = {st}['dx']",
                    f"    {n['dn']} = {st}['dh_prev']", ret]
        inits = [i for i in inits if not i.startswith(f"{n['dx']} =")]
        return [*inits, f"{n['lst']} = []", f"{n['dn']} = {self.zeros_like('h0')}", f"{t} = {T} - 1",
                f"while {t} >= 0:",
                f"    {n['hp']} = h0 if {t} == 0 else h[:, {t} - 1]",
                f"    {st} = rnn_step_backward(dh[:, {t}] + {n['dn']}, x[:, {t}], {n['hp']}, h[:, {t}], W_xh, W_hh)",
                f"    {n['lst']}.append({st}['dx'])", *("    " + a for a in acc),
                f"    {n['dn']} = {st}['dh_prev']", f"    {t} -= 1",
                f"{n['dx']} = np.stack({n['lst']}[::-1], axis=1)", ret]

    def cells(self) -> dict[str, str]:
        return {name: self.body(getattr(self, name)(), name) for name in FUNCTIONS}


def template_headers() -> dict[str, str]:
    """Each answer cell's signature and docstring, as released (from the student notebook)."""
    nb = nbformat.read(REPO / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    headers = {}
    for cell in nb.cells:
        key = cell.metadata.get("nbgrader", {}).get("grade_id")
        if key in FUNCTIONS:
            headers[key] = cell.source.split("# YOUR CODE HERE")[0].rstrip(" ")
    return headers


def check_correct(code: dict[str, str], ref: object, rng: np.random.Generator) -> None:
    ns: dict = {"np": np}
    for name in FUNCTIONS:
        exec(code[name], ns)  # noqa: S102 - generated here, from the templates above
    N, T, D, H = 3, 4, 5, 6
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    W_xh, W_hh, b_h = rng.normal(size=(D, H)) * 0.3, rng.normal(size=(H, H)) * 0.3, rng.normal(size=H)
    h = ns["rnn_forward"](x, h0, W_xh, W_hh, b_h)
    np.testing.assert_allclose(h, ref.rnn_forward(x, h0, W_xh, W_hh, b_h), rtol=1e-10, atol=1e-12)
    dh = rng.normal(size=h.shape)
    got, want = ns["rnn_backward"](dh, x, h0, h, W_xh, W_hh), ref.rnn_backward(dh, x, h0, h, W_xh, W_hh)
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-9, atol=1e-11)


def make_class(students: int, copies: int, seed: int) -> tuple[dict[str, dict[str, str]], set[tuple[str, str]]]:
    rng = np.random.default_rng(seed)
    headers = template_headers()
    honest = [independent(rng) for _ in range(students - copies)]
    sources = rng.choice(len(honest), size=copies, replace=False)
    people = {f"s{k:03d}": s for k, s in enumerate(honest)}
    planted = set()
    for c, src in enumerate(sources):
        name = f"c{c:03d}"
        people[name] = disguised_copy(honest[src], rng)
        planted.add(tuple(sorted((f"s{src:03d}", name))))
    return {name: Writer(s, headers).cells() for name, s in people.items()}, planted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--copies", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=similarity.THRESHOLD)
    parser.add_argument("--no-check", action="store_true", help="skip running every notebook against the reference")
    args = parser.parse_args(argv)

    cls, planted = make_class(args.students, args.copies, args.seed)
    if not args.no_check:
        from autograder.reference import load_reference

        ref, rng = load_reference(ASSIGNMENT, REPO), np.random.default_rng(args.seed + 1)
        for code in cls.values():
            check_correct(code, ref, rng)
        print(f"all {len(cls)} generated notebooks are correct (checked against the reference)")
    distinct = len({tuple(c.values()) for c in cls.values()})
    template = similarity.released_template(
        nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4))
    documents = {name: "\n\n".join(code[f] for f in FUNCTIONS) for name, code in cls.items()}
    cpu, wall = time.process_time(), time.perf_counter()
    result = similarity.compare(documents, template, threshold=args.threshold)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    listed = {(p.a, p.b) for p in result.flagged}
    n_pairs = len(documents) * (len(documents) - 1) // 2
    found = len(listed & planted)
    innocent = len(listed - planted)
    rank = {(p.a, p.b): r for r, p in enumerate(result.pairs, start=1)}
    planted_ranks = sorted(rank.get(p, n_pairs) for p in planted)
    scores = {(p.a, p.b): p.score for p in result.pairs}
    best_innocent = max((s for pair, s in scores.items() if pair not in planted), default=0.0)
    print(f"class: {len(documents)} students ({distinct} distinct notebooks), {len(planted)} planted copies, "
          f"{n_pairs} pairs, {n_pairs - len(planted)} innocent")
    print(f"threshold {args.threshold:.2f}: planted pairs listed {found} of {len(planted)}; "
          f"innocent pairs listed {innocent} of {n_pairs - len(planted)}")
    print(f"planted pairs' ranks: {planted_ranks}")
    print(f"planted scores: min {min(scores.get(p, 0.0) for p in planted):.3f}; "
          f"highest innocent score {best_innocent:.3f}")
    print(f"{result.n_common} common fingerprints ignored")
    print(f"comparison time for {len(documents)} students: {cpu:.2f} s CPU ({wall:.2f} s wall)")
    for low in (0.1, 0.15, 0.2, 0.25, 0.3):
        flagged = {(p.a, p.b) for p in result.pairs if p.score >= low}
        print(f"  at {low:.2f}: planted {len(flagged & planted)}/{len(planted)}, innocent {len(flagged - planted)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
