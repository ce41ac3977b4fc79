#!/usr/bin/env python3
"""Analysis half of tests/gate/validate.sh: runs `dytbench compare --format
json` on each session's A/A pair (A-i vs B-i) and injected arms (B-i vs
injP-i) and prints, per threshold, the gate's false-positive rate (A/A
comparisons that failed the gate, and A/A cases flagged) and detection
rate (injected cases flagged as regressions, comparisons that failed), the
verdicts, the modes used, and the slowdown the paired estimate measured for
each injection (so the injected amount is checked, not assumed). Usage:
validate_analyze.py DYTBENCH DB SESSIONS [ALPHA]"""
import json
import statistics
import subprocess
import sys


def compare(exe, db, base, cand, threshold, alpha):
    p = subprocess.run([exe, "compare", base, cand, "--db", db, "--format", "json",
                        "--threshold", f"{threshold}%", "--alpha", str(alpha)],
                       capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(f"compare {base} {cand} failed ({p.returncode}): {p.stderr}")
    return json.loads(p.stdout), p.returncode


def tally(exe, db, sessions, base, cand, threshold, alpha):
    """Compares base-i with cand-i for every session i: the comparisons
    that failed the gate, the cases flagged, the cases, and the cases'
    verdicts, modes and measured ratios."""
    runs = flagged = n = 0
    verdicts, modes, ratios = {}, {}, []
    for i in range(1, sessions + 1):
        j, rc = compare(exe, db, f"{base}-{i}", f"{cand}-{i}", threshold, alpha)
        runs += rc == 1
        for c in j["cases"]:
            n += 1
            flagged += c["regression"]
            verdicts[c["verdict"]] = verdicts.get(c["verdict"], 0) + 1
            modes[c.get("mode")] = modes.get(c.get("mode"), 0) + 1
            if c.get("ratio"):
                ratios.append(c["ratio"])
    return runs, flagged, n, verdicts, modes, ratios


def pct(k, n):
    return f"{k}/{n} ({100.0 * k / max(n, 1):.1f}%)"


def main():
    exe, db, sessions = sys.argv[1], sys.argv[2], int(sys.argv[3])
    alpha = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
    thresholds = (2, 3, 5, 10)
    rows = []
    measured = {}
    for thr in thresholds:
        fp_runs, fp_cases, n_cases, verdicts, modes, _ = tally(exe, db, sessions, "A", "B",
                                                               thr, alpha)
        det = {}
        for p in (5, 10, 20):
            runs, cases, n, _, _, ratios = tally(exe, db, sessions, "B", f"inj{p}", thr, alpha)
            det[p] = (runs, cases, n)
            measured[p] = ratios
        rows.append((thr, fp_runs, fp_cases, n_cases, det))
        print(f"threshold {thr}%, alpha {alpha}: A/A comparisons failing the gate "
              f"{pct(fp_runs, sessions)}, A/A cases flagged {pct(fp_cases, n_cases)}; "
              f"A/A verdicts {verdicts}; modes {modes}")
        for p in (5, 10, 20):
            runs, cases, n = det[p]
            print(f"  injected +{p}%: {pct(cases, n)} injected cases flagged; gate failed in "
                  f"{pct(runs, sessions)} comparisons")
    print()
    print("| threshold | A/A comparisons failing | A/A cases flagged | +5% cases flagged "
          "| +10% cases flagged | +20% cases flagged | +5% / +10% / +20%: gate failed |")
    print("|---|---|---|---|---|---|---|")
    for thr, fr, fc, nc, det in rows:
        print(f"| {thr}% | {pct(fr, sessions)} | {pct(fc, nc)} | "
              + " | ".join(pct(det[p][1], det[p][2]) for p in (5, 10, 20)) + " | "
              + " / ".join(f"{det[p][0]}/{sessions}" for p in (5, 10, 20)) + " |")
    print()
    for p in (5, 10, 20):
        r = sorted(measured[p])
        if r:
            q = lambda f: r[min(len(r) - 1, int(f * len(r)))]
            print(f"injected +{p}%: paired estimate of the slowdown over {len(r)} cases: median "
                  f"{100 * (statistics.median(r) - 1):+.1f}%, 10th-90th percentile "
                  f"{100 * (q(0.1) - 1):+.1f}% .. {100 * (q(0.9) - 1):+.1f}%")


def pooled(exe, db, sessions, alpha, k=3):
    """The recipe's variant for more resolution: k sessions pooled per side
    (comma lists of the sessions' labels), disjoint groups."""
    groups = [list(range(g, g + k)) for g in range(1, sessions - k + 2, k)]
    print(f"\n{k} sessions pooled per side ({len(groups)} disjoint groups):")
    print("| threshold | A/A comparisons failing | A/A cases flagged | +5% cases flagged "
          "| +10% cases flagged | +20% cases flagged | +10%: gate failed |")
    print("|---|---|---|---|---|---|---|")
    for thr in (2, 3, 5):
        side = lambda lab, g: ",".join(f"{lab}-{i}" for i in g)
        fr = fc = nc = 0
        det = {}
        for g in groups:
            j, rc = compare(exe, db, side("A", g), side("B", g), thr, alpha)
            fr += rc == 1
            nc += len(j["cases"])
            fc += sum(c["regression"] for c in j["cases"])
        for p in (5, 10, 20):
            runs = cases = n = 0
            for g in groups:
                j, rc = compare(exe, db, side("B", g), side(f"inj{p}", g), thr, alpha)
                runs += rc == 1
                n += len(j["cases"])
                cases += sum(c["regression"] for c in j["cases"])
            det[p] = (runs, cases, n)
        print(f"| {thr}% | {pct(fr, len(groups))} | {pct(fc, nc)} | "
              + " | ".join(pct(det[p][1], det[p][2]) for p in (5, 10, 20))
              + f" | {pct(det[10][0], len(groups))} |")


if __name__ == "__main__":
    main()
    pooled(sys.argv[1], sys.argv[2], int(sys.argv[3]),
           float(sys.argv[4]) if len(sys.argv) > 4 else 0.01)
