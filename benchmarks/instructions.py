#!/usr/bin/env python
"""Instructions per operation, counted by callgrind: a measure that machine load cannot move.

Wall-clock ratios (``run.py``) are the budgets' measure, but on a busy machine they need long
runs to separate a change of 1% from noise. The number of instructions an operation executes
does not depend on the load, so it shows the effect of a change to the hot path at once (it
does not show cache misses and other stalls: confirm with ``run.py``).

The script runs itself under ``valgrind --tool=callgrind`` with a dump at every call of
``getppid``: the operations of ``run.py`` (the same models, data and warm-up) are timed with
the clock replaced by ``os.getppid()``, so each timed loop ends up in a dump file of its own.
Each operation is measured ``--repeat`` times per variant, interleaved; the median is printed.

Usage: ``.venv/bin/python benchmarks/instructions.py [--only triggers] [--ops update_watched]``
(needs ``valgrind``; about a minute per variant).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import run as bench_run  # noqa: E402

#: Without address space randomisation (when ``setarch`` can turn it off), dictionaries keyed
#: by objects hashed by address (classes) lay out the same way in every run: fewer differences
#: between runs that are not differences of the code.
NO_ASLR = ["setarch", platform.machine(), "-R"] if shutil.which("setarch") else []
TOTALS = re.compile(rb"^(?:totals|summary):\s*(\d+)", re.MULTILINE)



def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="triggers",
                        help="comma-separated variant keys of run.py (plain is always included)")
    parser.add_argument("--ops", default=",".join(bench_run.SAVE_OPS),
                        help=f"comma-separated operations (of {', '.join(bench_run.OPS)})")
    parser.add_argument("--batch", type=int, default=40, help="operations per measured loop")
    parser.add_argument("--repeat", type=int, default=3, help="measured loops per operation")
    parser.add_argument("--sqlite", default="memory", choices=("file", "memory"),
                        help="SQLite in memory (default: no WAL checkpoints to land in some "
                             "loops and not others) or in a temporary file as run.py")
    parser.add_argument("--json", default="", help="also write the figures to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind).", file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="triggers-callgrind-")
    try:
        out = os.path.join(workdir, "cg.out")
        command = [
            *NO_ASLR, "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            "--dump-before=getppid", "--dump-instr=no", "--compress-strings=no",
            sys.executable, os.path.abspath(__file__), "--child",
            *[a for a in (argv if argv is not None else sys.argv[1:]) if a != "--child"],
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            print(done.stdout.decode(), file=sys.stderr)
            print(f"valgrind failed with status {done.returncode}", file=sys.stderr)
            return 1
        segments = json.loads(done.stdout.decode().strip().splitlines()[-1])
        counts = {}
        for name in os.listdir(workdir):
            suffix = name.rsplit(".", 1)[-1]
            if suffix.isdigit():
                found = TOTALS.search(Path(workdir, name).read_bytes())
                counts[int(suffix)] = int(found.group(1)) if found else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(args, segments, counts)
    return 0


def report(args: argparse.Namespace, segments: list[list], counts: dict[int, int]) -> None:
    # Dump k (1-based) holds what ran since dump k-1; a measured loop lies between two
    # getppid() calls, so the i-th loop (0-based) is dump 2 * i + 2.
    per_op: dict[tuple[str, str], list[float]] = {}
    for i, (variant, op, n) in enumerate(segments):
        per_op.setdefault((variant, op), []).append(counts[2 * i + 2] / n)
    variants = list(dict.fromkeys(v for v, _op, _n in segments))
    ops = list(dict.fromkeys(op for _v, op, _n in segments))
    print(f"Instructions per operation (callgrind, median of {args.repeat} loops of "
          f"{args.batch}; list loads per instance), extra and ratio to the plain model")
    head = "variant".ljust(26) + "".join(bench_run.OP_LABELS[op].rjust(26) for op in ops)
    print(head)
    print("-" * len(head))
    figures: dict[str, dict[str, int]] = {}
    for variant in variants:
        cells = []
        for op in ops:
            value = statistics.median(per_op[variant, op])
            figures.setdefault(variant, {})[op] = round(value)
            base = figures.get("plain", {}).get(op)
            extra = (f"+{value - base:,.0f} {value / base:5.3f}×"
                     if base and variant != "plain" else "")
            cells.append(f"{value:,.0f} {extra}".rjust(26))
        print(variant.ljust(26) + "".join(cells))
    if args.repeat > 1:
        spread = max((max(v) - min(v)) / statistics.median(v) for v in per_op.values())
        print(f"Largest spread between the loops of one operation: {100 * spread:.2f}%")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


def child(args: argparse.Namespace) -> int:
    run_args = bench_run.parse_args(["--batch", str(args.batch), "--only", args.only,
                                     "--seed", "0", "--sqlite", args.sqlite])
    _where, cleanup = bench_run.setup_database(run_args)
    try:
        segments = measure(args, run_args)
    finally:
        cleanup()
    print(json.dumps(segments))
    return 0


def measure(args: argparse.Namespace, run_args: argparse.Namespace) -> list[list]:
    import contextlib
    import gc

    from benchmarks.benchapp.hooks import STATE

    keep = {"plain", *args.only.split(",")}
    variants = bench_run.make_variants()
    keep |= {v.reference for v in variants if v.key in keep}
    variants = [v for v in variants if v.key in keep]
    ops = args.ops.split(",")
    bench = bench_run.Bench(run_args)
    filled: dict = {}
    for variant in variants:
        if variant.model in filled:
            variant.max_pk, variant.pks = filled[variant.model].max_pk, filled[variant.model].pks
        else:
            bench.fill(variant)
            filled[variant.model] = variant
    for _ in range(2):
        for variant in variants:
            bench.block(variant, args.batch, record=False)
    gc.collect()
    gc.freeze()

    @contextlib.contextmanager
    def marked():
        os.getppid()  # a dump: what ran before the loop
        yield
        os.getppid()  # a dump: the loop

    segments: list[list] = []
    for _ in range(args.repeat):
        for variant in variants:
            with variant.context():
                for op in ops:
                    STATE.op = op
                    run = getattr(bench, f"op_{op}")
                    run(variant, 2)
                    bench.around = marked
                    gc.disable()
                    try:
                        run(variant, args.batch)
                    finally:
                        gc.enable()
                        bench.around = None
                    n = (max(1, args.batch // 8) * bench_run.LOAD_N if op == "load_list"
                         else args.batch)
                    segments.append([variant.key, op, n])
            STATE.op = "idle"
    return segments


if __name__ == "__main__":
    sys.exit(main())
