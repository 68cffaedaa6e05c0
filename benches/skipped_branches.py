#!/usr/bin/env python3
# The reviewer's experiment of issue 11, reproducible:
#   python3 benches/skipped_branches.py target/release/procedo
# From clean simulated logs of every shipped procedure (seeds 1-3, 200 cases), remove the
# only step of a single-step branch from each case that recorded it, check each such case,
# and count how many still read as conforming (and how many of those have a decision the
# facts could not tell: an `unknown` decision obligation).
import json, re, subprocess, sys, glob, collections, os, tempfile
B = sys.argv[1]
tmp = tempfile.mkdtemp()
total = conforming = 0
per = collections.Counter(); per_ok = collections.Counter(); unknown = collections.Counter()
for proc in sorted(glob.glob("procedures/*/*.proc")):
    text = open(proc).read()
    if re.search(r"^library ", text, re.M): continue
    lines = text.split("\n")
    singles = set()
    for i, l in enumerate(lines):
        m = re.match(r"^(\s*)(when .*|else)\s*$", l)
        if not m: continue
        ind = len(m.group(1))
        body = []
        for l2 in lines[i+1:]:
            if not l2.strip() or l2.strip().startswith("#"): continue
            ind2 = len(l2) - len(l2.lstrip())
            if ind2 <= ind: break
            if ind2 == ind + 2: body.append(l2.strip())
        if len(body) == 1:
            m2 = re.match(r"^(step|inform|instruct) (\w+)", body[0])
            if m2 and "optional" not in body[0]: singles.add(m2.group(2))
    labels = {}
    for m in re.finditer(r'^\s*activity "([^"]+)" -> (\w+)', text, re.M):
        labels.setdefault(m.group(2), []).append(m.group(1))
    for seed in ["1", "2", "3"]:
        out = subprocess.run([B, "simulate", "-p", proc, "--cases", "200", "--seed", seed, "--deviation-rate", "0"], capture_output=True, text=True).stdout
        evs = [json.loads(l) for l in out.splitlines() if l.strip()]
        if not evs: continue
        mc = re.search(r'attribute "([^"]+)" -> case', text)
        ma = re.search(r'attribute "([^"]+)" -> activity', text)
        casecol = mc.group(1) if mc else "case:concept:name"
        actcol = ma.group(1) if ma else "concept:name"
        cases = collections.OrderedDict()
        for e in evs: cases.setdefault(e[casecol], []).append(e)
        variants = []
        for step in sorted(singles):
            labs = set(labels.get(step, [])) | {step}
            for cid, ce in cases.items():
                if any(e.get(actcol) in labs for e in ce):
                    variants.append((step, [dict(e, **{casecol: f"{cid}~{step}"}) for e in ce if e.get(actcol) not in labs]))
        if not variants: continue
        path = f"{tmp}/v.jsonl"
        with open(path, "w") as f:
            for _, ce in variants:
                for e in ce: f.write(json.dumps(e) + "\n")
        res = subprocess.run([B, "check", "-p", proc, path, "--format", "jsonl"], capture_output=True, text=True).stdout
        verdicts = {}
        for l in res.splitlines():
            d = json.loads(l)
            verdicts[d["case_id"]] = d
        for step, ce in variants:
            cid = ce[0][casecol] if ce else None
            if cid is None or cid not in verdicts: continue
            v = verdicts[cid]
            total += 1; per[(proc.split("/")[-1], step)] += 1
            if v["conforming"]:
                conforming += 1; per_ok[(proc.split("/")[-1], step)] += 1
                if any(o["kind"] == "decision" and o["status"] == "unknown" for o in v.get("obligations", [])):
                    unknown[(proc.split("/")[-1], step)] += 1
print(f"{total} cases with the only step of a branch removed; {conforming} reported conforming")
for k in sorted(per):
    if per_ok[k]: print(f"  {k[0]} {k[1]}: {per_ok[k]} of {per[k]} conforming ({unknown[k]} with an unknown decision)")
