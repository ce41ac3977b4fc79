#!/usr/bin/env python3
"""A stand-in for runners/torch/dytbench_torch.py that needs no PyTorch, so
the C side of the peer protocol (docs/peers.md) is tested everywhere:
forward cases of fp32 and bf16 computed in plain Python from the inputs in
the exchange file, and the ways a peer can go wrong, chosen by
FAKE_PEER_MODE:

  ok        correct outputs, real (tiny) timed loops
  wrong     y[0] off by 1: verification must fail the case
  echo      its copy of x differs: the inputs check must fail the case
  silent    writes no y: the NaN-filled output must fail
  skip      torch-eager unavailable: cases stored skipped, not failures
  crash     exits (status 7) at the third timing request
  garbage   answers a timing request with a line that is not JSON
  term      sends dytbench SIGTERM at timing request FAKE_PEER_TERM_AT (5)
            and answers it only a second later
  notorch   says PyTorch is missing and exits 2 before its hello
  protocol  says hello in protocol 99
"""
import json
import math
import mmap
import os
import signal
import struct
import sys
import time

MODE = os.environ.get("FAKE_PEER_MODE", "ok")
REPLY = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)


def send(obj):
    REPLY.write(json.dumps(obj) + "\n")
    REPLY.flush()


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def bf16_bits(v):
    u = struct.unpack("<I", struct.pack("<f", v))[0]
    return (u + 0x7FFF + ((u >> 16) & 1)) >> 16


def bf16_value(h):
    return struct.unpack("<f", struct.pack("<I", h << 16))[0]


def load(mm, span, dtype):
    off, n = span
    if dtype == "fp32":
        return list(struct.unpack_from(f"<{n}f", mm, off))
    return [bf16_value(h) for h in struct.unpack_from(f"<{n}H", mm, off)]


def store(mm, span, values, dtype):
    off, n = span
    assert len(values) == n
    if dtype == "fp32":
        struct.pack_into(f"<{n}f", mm, off, *values)
    else:
        struct.pack_into(f"<{n}H", mm, off, *[bf16_bits(v) for v in values])


def forward(c, x, gamma, beta, rows):
    cols, out = c["cols"], []
    if c["dtype"] == "bf16":  # the parameters a bf16 module holds
        gamma = [bf16_value(bf16_bits(g)) for g in gamma]
        beta = [bf16_value(bf16_bits(b)) for b in beta]
    alpha = c["alpha"] if c["dtype"] == "fp32" else bf16_value(bf16_bits(c["alpha"]))
    for r in range(rows):
        row = x[r * cols:(r + 1) * cols]
        if c["norm"] == "dyt":
            out += [gamma[j] * math.tanh(alpha * row[j]) + (beta[j] if c["has_beta"] else 0)
                    for j in range(cols)]
            continue
        mean = sum(row) / cols if c["norm"] == "layernorm" else 0.0
        var = sum((v - mean) ** 2 for v in row) / cols
        rstd = 1.0 / math.sqrt(var + f32(c["eps"]))
        for j in range(cols):
            v = (row[j] - mean) * rstd
            if c["affine"]:
                v = v * gamma[j] + (beta[j] if c["norm"] == "layernorm" else 0)
            out.append(v)
    return out


def main():
    if MODE == "notorch":
        sys.stderr.write("dytbench-torch: PyTorch is not importable by the fake peer: install "
                         "python3-torch\n")
        sys.exit(2)
    send({"ok": True, "peer": "dytbench-torch", "protocol": 99 if MODE == "protocol" else 1,
          "python": "fake", "torch": "0.0+fake", "device": "cpu", "parallel": "none",
          "rmsnorm": "fake", "timer": {"granularity_ns": 100.0, "overhead_ns": 100.0},
          "variants": {"torch-eager": {"available": MODE != "skip",
                                       "reason": "fake: torch-eager switched off"},
                       "torch-compile": {"available": False, "reason": "fake: no compile"},
                       "liger": {"available": False, "reason": "fake: no liger"}}})
    plan = json.loads(sys.stdin.readline())
    cases = {c["id"]: c for c in plan["cases"]}
    send({"ok": True, "thread_cpus": {}})
    case, timings = None, 0
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "setup":
            c = cases[cmd["id"]]
            if c["pass"] != "fwd":
                send({"ok": False, "error": "the fake peer has no backward"})
                continue
            with mmap.mmap(3, 0) as mm:
                case = {"c": c, "x": load(mm, cmd["x"], c["dtype"]),
                        "gamma": load(mm, cmd["gamma"], "fp32"),
                        "beta": load(mm, cmd["beta"], "fp32")}
            send({"ok": True, "note": f"fake {c['norm']} {c['dtype']}"})
        elif cmd["cmd"] == "verify":
            c, rows = case["c"], cmd["rows"]
            y = forward(c, case["x"], case["gamma"], case["beta"], rows)
            echo = case["x"][:rows * c["cols"]]
            if MODE == "wrong":
                y[0] += 1.0
            if MODE == "echo":
                echo = [-v for v in echo]
            with mmap.mmap(3, 0) as mm:
                if MODE != "silent":
                    store(mm, cmd["y"], y, c["dtype"])
                store(mm, cmd["x_echo"], echo, c["dtype"])
            send({"ok": True})
        elif cmd["cmd"] == "time":
            timings += 1
            if MODE == "crash" and timings == 3:
                sys.stderr.write("fake peer: crashing on purpose\n")
                sys.stderr.flush()
                os._exit(7)
            if MODE == "term" and timings == int(os.environ.get("FAKE_PEER_TERM_AT", "5")):
                os.kill(os.getppid(), signal.SIGTERM)
                time.sleep(1)  # dytbench stops waiting for this reply
            if MODE == "garbage":
                REPLY.write("this is not JSON\n")
                REPLY.flush()
                continue
            t0 = time.perf_counter_ns()
            for _ in range(cmd["n"]):
                sum(range(20))
            send({"ok": True, "ns": time.perf_counter_ns() - t0, "ru": [1, 0, 2, 0]})
        elif cmd["cmd"] == "release":
            case = None
            send({"ok": True})
        else:
            send({"ok": False, "error": "unknown request"})


main()
