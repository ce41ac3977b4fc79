#!/usr/bin/env python3
"""Analysis half of tests/gate/validate.sh: runs `dytbench compare --format
json` on the stored A/A pairs and injected runs and prints the gate's
false-positive and detection rates per threshold. Usage:
validate_analyze.py DYTBENCH DB SESSIONS [ALPHA]"""
import json
import subprocess
import sys


def compare(exe, db, base, cand, threshold, alpha):
    p = subprocess.run([exe, "compare", base, cand, "--db", db, "--format", "json",
                        "--threshold", str(threshold), "--alpha", str(alpha)],
                       capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(f"compare {base} {cand} failed ({p.returncode}): {p.stderr}")
    return json.loads(p.stdout), p.returncode


def main():
    exe, db, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    alpha = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
    for thr in (2, 3, 5, 10):
        fp_runs = fp_cases = n_cases = 0
        verdicts = {}
        for i in range(1, rounds + 1):
            j, rc = compare(exe, db, f"A-{i}", f"B-{i}", thr, alpha)
            fp_runs += rc == 1
            for c in j["cases"]:
                n_cases += 1
                fp_cases += c["regression"]
                verdicts[c["verdict"]] = verdicts.get(c["verdict"], 0) + 1
        print(f"threshold {thr}%, alpha {alpha}: A/A false positives: {fp_runs}/{rounds} "
              f"comparisons failed the gate ({100.0 * fp_runs / rounds:.1f}%), "
              f"{fp_cases}/{n_cases} cases ({100.0 * fp_cases / max(n_cases, 1):.2f}%); "
              f"A/A verdicts {verdicts}")
        for pct in (5, 10, 20):
            det_runs = det_cases = n = 0
            for i in range(1, rounds + 1):
                j, rc = compare(exe, db, f"B-{i}", f"inj{pct}-{i}", thr, alpha)
                det_runs += rc == 1
                for c in j["cases"]:
                    n += 1
                    det_cases += c["regression"]
            print(f"  injected +{pct}%: gate failed in {det_runs}/{rounds} comparisons "
                  f"({100.0 * det_runs / rounds:.1f}%); {det_cases}/{n} slowed cases flagged "
                  f"({100.0 * det_cases / max(n, 1):.1f}%)")


if __name__ == "__main__":
    main()
