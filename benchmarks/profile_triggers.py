#!/usr/bin/env python
"""Where the time of a save on a watched model goes, inside triggers/.

Two views, for each save operation of the benchmark (create, save unwatched, save watched):

1. In place: the same timed batches as ``run.py`` on the plain and the ``triggers`` model,
   alternating, with the time spent inside the engine's pre_save and post_save receivers
   measured around each call. The rest of the difference is Django's signal dispatch and the
   cache effects of running more code per save.
2. cProfile of the ``triggers`` model alone: the functions of triggers/ by cumulative time per
   operation. The profiler adds about 0.3 µs per call, so small functions look bigger than they
   are: compare them with each other, not with view 1.

Usage: ``.venv/bin/python benchmarks/profile_triggers.py [--rounds N] [--variant KEY]``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import run as bench_run  # noqa: E402

SAVE_OPS = ("create", "update_unwatched", "update_watched")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--variant", default="triggers",
                        help="variant key of run.py to profile (default: triggers)")
    parser.add_argument("--top", type=int, default=25)
    options = parser.parse_args()
    args = bench_run.parse_args(["--batch", str(options.batch)])
    _where, cleanup = bench_run.setup_database(args)
    try:
        profile(options, args)
    finally:
        cleanup()
    return 0


def profile(options: argparse.Namespace, args: argparse.Namespace) -> None:
    from django.db.models import signals

    from benchmarks.benchapp.hooks import STATE
    from triggers.engine import engine
    from triggers.wiring import _uid

    variants = {v.key: v for v in bench_run.make_variants()}
    plain, measured = variants["plain"], variants[options.variant]
    bench = bench_run.Bench(args)
    bench.fill(plain)
    bench.fill(measured)
    batch = options.batch

    spent = {"pre": 0, "post": 0}
    model = measured.model
    receivers = {"pre": (signals.pre_save, engine.on_pre_save),
                 "post": (signals.post_save, engine.on_post_save)}

    def timed(kind, receiver):
        def wrapper(sender, **kwargs):
            t0 = time.perf_counter_ns()
            receiver(sender=sender, **kwargs)
            spent[kind] += time.perf_counter_ns() - t0

        return wrapper

    def swap(timing: bool) -> None:
        """Connect the engine's receivers for ``model``, timed or as they are."""
        for kind, (signal, receiver) in receivers.items():
            uid = _uid(f"{kind}_save", model)
            signal.disconnect(sender=model, dispatch_uid=uid)
            signal.connect(timed(kind, receiver) if timing else receiver, sender=model,
                           weak=False, dispatch_uid=uid)

    figures = {op: {"plain": [], "measured": [], "pre": [], "post": []} for op in SAVE_OPS}
    with measured.context():
        for _ in range(2):
            bench.block(plain, batch, record=False)
            bench.block(measured, batch, record=False)
        for _ in range(options.rounds):
            for op in SAVE_OPS:
                STATE.op = op
                run = getattr(bench, f"op_{op}")
                gc.disable()
                figures[op]["plain"].append(run(plain, batch))
                spent["pre"] = spent["post"] = 0
                swap(timing=True)
                try:
                    figures[op]["measured"].append(run(measured, batch))
                finally:
                    swap(timing=False)
                    gc.enable()
                figures[op]["pre"].append(spent["pre"] / batch)
                figures[op]["post"].append(spent["post"] / batch)

        print(f"In place, µs per operation (median of {options.rounds} rounds of {batch}); "
              f"variant {options.variant!r}")
        print(f"{'operation':18} {'plain':>8} {'variant':>8} {'extra':>7} "
              f"{'pre_save':>12} {'post_save':>13} {'rest':>7}")
        for op, f in figures.items():
            m = {k: statistics.median(v) / 1000 for k, v in f.items()}
            extra = m["measured"] - m["plain"]
            rest = extra - m["pre"] - m["post"]
            print(f"{op:18} {m['plain']:8.1f} {m['measured']:8.1f} {extra:7.1f} "
                  f"{m['pre']:12.2f} {m['post']:13.2f} {rest:7.1f}")

        n = 50 * batch
        for op in SAVE_OPS:
            STATE.op = op
            run = getattr(bench, f"op_{op}")
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(n // batch):
                run(measured, batch)
            profiler.disable()
            stats = pstats.Stats(profiler)
            rows = []
            for (path, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
                if "/triggers/" in path and "/benchmarks/" not in path:
                    where = path.split("/triggers/", 1)[1]
                    rows.append((cumtime, tottime, calls, f"triggers/{where}:{line} {name}"))
            print(f"\ncProfile, {op}: functions of triggers/ by cumulative µs per operation "
                  f"(untimed instance loading excluded from the totals but may appear)")
            print(f"{'cum µs':>8} {'own µs':>8} {'calls/op':>9}  function")
            for cumtime, tottime, calls, label in sorted(rows, reverse=True)[:options.top]:
                print(f"{cumtime / n * 1e6:8.2f} {tottime / n * 1e6:8.2f} {calls / n:9.2f}  "
                      f"{label}")
    STATE.op = "idle"


if __name__ == "__main__":
    sys.exit(main())
