#!/usr/bin/env python3
"""Extends the pm4py oracle on a hard net: one optimal alignment per variant, shortest
variants first, each with its own time limit, every answer written as soon as it is
known (so a run stopped at any point leaves a usable file).

    extend_oracle.py LOG NET.pnml OUT.csv [--activity COLS] [--min-length N]
                     [--max-length N] [--seconds S] [--perturb | --traces FILE]

Rows: case_id, length, cost, seconds, timed_out. With --perturb, each variant is first
changed (its middle event removed, and its first two events swapped when they differ),
so the answers have deviations; rows then carry the trace itself (`trace`, the labels
joined with `|`) instead of a case id, since no case in the log has it. With --traces,
the traces are read from FILE instead (one a line, labels joined with `|`), shortest
first: used to ask pm4py about chosen traces (e.g. ones with deviations) with more time.

pm4py's state-equation A* (its default), pm4py's standard costs. pm4py is AGPL-3.0 and
is only ever run as a separate program; nothing of it is linked into procedo.
"""
import argparse
import csv
import sys
import time

import pm4py
from pm4py.algo.conformance.alignments.petri_net import algorithm as ali
from pm4py.objects.log.obj import Event, Trace


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("pnml")
    ap.add_argument("out")
    ap.add_argument("--activity", default="concept:name,lifecycle:transition")
    ap.add_argument("--min-length", type=int, default=1)
    ap.add_argument("--max-length", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--perturb", action="store_true")
    ap.add_argument("--traces", default=None)
    a = ap.parse_args()
    df = pm4py.read_xes(a.log)
    cols = a.activity.split(",")
    df["concept:name"] = df[cols].astype(str).agg("+".join, axis=1)
    df = pm4py.format_dataframe(df, case_id="case:concept:name",
                                activity_key="concept:name",
                                timestamp_key="time:timestamp")
    log = pm4py.convert_to_event_log(df)
    variants = {}
    for t in log:
        labels = tuple(e["concept:name"] for e in t)
        variants.setdefault(labels, []).append(t.attributes["concept:name"])
    net, im, fm = pm4py.read_pnml(a.pnml)
    if a.traces:
        given = [tuple(l.strip().split("|")) for l in open(a.traces) if l.strip()]
        a.perturb = False
        order = sorted(given, key=lambda v: (len(v), v))
        variants = {v: ["|".join(v)] for v in order}
    else:
        order = sorted((v for v in variants if a.min_length <= len(v) <= a.max_length),
                       key=lambda v: (len(v), v))
    variant = ali.Variants.VERSION_STATE_EQUATION_A_STAR
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["trace" if a.perturb or a.traces else "case_id", "length", "cost", "seconds",
                    "timed_out"])
        for labels in order:
            if a.perturb:
                labels = list(labels)
                if len(labels) >= 3:
                    del labels[len(labels) // 2]
                if len(labels) >= 2 and labels[0] != labels[1]:
                    labels[0], labels[1] = labels[1], labels[0]
                labels = tuple(labels)
            trace = Trace([Event({"concept:name": l}) for l in labels])
            t0 = time.perf_counter()
            r = ali.apply_trace(trace, net, im, fm, variant=variant,
                                parameters={"max_align_time_trace": a.seconds,
                                            "enable_best_worst_cost": False})
            dt = time.perf_counter() - t0
            done = r is not None and r.get("alignment") is not None
            cost = int(r["cost"]) if done else ""
            ids = ["|".join(labels)] if a.perturb else variants[tuple(
                e for e in labels)] if not a.perturb else []
            for cid in ids:
                w.writerow([cid, len(labels), cost, f"{dt:.3f}", not done])
            f.flush()
            print(len(labels), cost, f"{dt:.2f}s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
