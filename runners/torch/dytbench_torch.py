#!/usr/bin/env python3
"""dytbench's torch peer: times PyTorch's own modules at dytbench's cases.

dytbench (`dytbench run --peer torch`) starts this program with its stdin
and stdout on pipes and a shared memory file as fd 3, and drives it one
JSON line at a time (docs/peers.md, protocol 1):

  peer -> hello     versions, what is available, the clock
  dytbench -> plan  the peer's cases; reply: the CPUs its threads run on
  then requests, each answered by one line {"ok": true|false, ...}:
    setup    copy one case's inputs from the shared file, build the module
             and the buffer sets, make the first call (torch.compile
             compiles here), all untimed
    verify   write the outputs (and a copy of the inputs) of the first rows
             back; dytbench checks them against its float64 oracle
    time     n calls back to back, timed with perf_counter_ns around
             nothing but the calls; dytbench runs the warm-up and the
             stopping rule
    release  drop the case
End of stdin: exit 0. Without PyTorch: a message on stderr, exit 2.

The modules: torch.nn.LayerNorm; RMSNorm as torch.nn.RMSNorm where torch
has it, else the Hugging Face LLaMA formula; DyT as in the paper's code
(weight * tanh(alpha * x) + bias, no bias where the model has none). Forward
runs under torch.no_grad(); backward is torch.autograd.grad of sum(y * dy)
with respect to x and the parameters (grad_outputs=dy) on a retained graph.
bf16 cases hold their parameters in bf16 (module.to(torch.bfloat16)).
"""
import json
import mmap
import os
import platform
import resource
import signal
import sys
import time

PROTOCOL = 1
EXCHANGE_FD = 3
VARIANTS = ("torch-eager", "torch-compile", "liger")


def die(msg, code=2):
    sys.stderr.write("dytbench-torch: " + msg + "\n")
    sys.stderr.flush()
    sys.exit(code)


# dytbench stops the peer itself (end of stdin); Ctrl-C goes to the whole
# process group and must not kill the peer in the middle of a reply.
signal.signal(signal.SIGINT, signal.SIG_IGN)
# Replies go to the real stdout; anything else printed (a library's
# warning) goes to stderr, where it cannot break the protocol.
REPLY = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)

try:
    import torch
except Exception as ex:  # ImportError, or a broken installation
    die(f"PyTorch is not importable by {sys.executable} ({type(ex).__name__}: {ex}): install it "
        "(Debian: apt-get install python3-torch) or give dytbench --python with an interpreter "
        "that has it")

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def send(obj):
    REPLY.write(json.dumps(obj, separators=(",", ":")) + "\n")
    REPLY.flush()


def timer_info():
    """The clock's granularity and cost, as dytbench measures its own."""
    clock = time.perf_counter_ns
    gran = None
    for _ in range(2000):
        a = clock()
        b = clock()
        while b == a:
            b = clock()
        gran = b - a if gran is None else min(gran, b - a)
    n = 100000
    t0 = clock()
    for _ in range(n):
        clock()
    return {"granularity_ns": float(gran), "overhead_ns": (clock() - t0) / n,
            "clock": "time.perf_counter_ns (CLOCK_MONOTONIC)"}


def compile_availability():
    if not hasattr(torch, "compile"):
        return {"available": False,
                "reason": f"torch.compile is not in torch {torch.__version__} "
                          "(it needs PyTorch 2.0 or later)"}
    try:
        import torch._dynamo as dynamo
        supported = getattr(dynamo, "is_dynamo_supported", None)
        if supported is not None and not supported():
            return {"available": False,
                    "reason": f"torch.compile of torch {torch.__version__} does not support "
                              f"Python {platform.python_version()}"}
    except Exception as ex:
        return {"available": False, "reason": f"torch._dynamo: {type(ex).__name__}: {ex}"}
    return {"available": True}


def liger_availability():
    try:
        import liger_kernel  # noqa: F401
        found = "Liger-Kernel is installed, but its"
    except Exception as ex:
        found = f"Liger-Kernel is not importable ({type(ex).__name__}: {ex}); its"
    # dytbench's torch peer measures CPU cases, and Liger's DyT is a Triton
    # kernel for NVIDIA GPUs.
    return {"available": False,
            "reason": f"{found} DyT is a Triton kernel for NVIDIA GPUs and this peer runs on "
                      "the CPU"}


def rmsnorm_kind():
    if hasattr(torch.nn, "RMSNorm"):
        return "torch.nn.RMSNorm"
    return (f"Hugging Face LLaMA formula (torch {torch.__version__} has no torch.nn.RMSNorm): "
            "weight * (x.float() * rsqrt(mean(x.float()^2) + eps)).to(dtype)")


def cpu_capability():
    """The vector ISA torch's CPU kernels were dispatched to."""
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def parallel_backend():
    for line in torch.__config__.parallel_info().splitlines():
        if line.startswith("ATen parallel backend"):
            return line.split(":", 1)[1].strip()
    return "unknown"


class LlamaRMSNorm(torch.nn.Module):
    """RMSNorm as Hugging Face's LlamaRMSNorm computes it."""

    def __init__(self, hidden, eps, affine):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(hidden)) if affine else None
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        if self.weight is None:
            return hidden_states.to(input_dtype)
        return self.weight * hidden_states.to(input_dtype)


class DynamicTanh(torch.nn.Module):
    """DyT as in the paper's code (channels last), bias optional."""

    def __init__(self, hidden, alpha, bias):
        super().__init__()
        self.alpha = torch.nn.Parameter(torch.ones(1) * alpha)
        self.weight = torch.nn.Parameter(torch.ones(hidden))
        self.bias = torch.nn.Parameter(torch.zeros(hidden)) if bias else None

    def forward(self, x):
        x = torch.tanh(self.alpha * x)
        if self.bias is None:
            return x * self.weight
        return x * self.weight + self.bias


def build_module(c, gamma, beta):
    """The case's module with dytbench's parameters; its parameters by the
    name dytbench's gradients have; the formula, for the case's note."""
    cols, eps, affine = c["cols"], c["eps"], c["affine"]
    if c["norm"] == "layernorm":
        m = torch.nn.LayerNorm(cols, eps=eps, elementwise_affine=affine)
        named = {"dgamma": m.weight, "dbeta": m.bias} if affine else {}
        formula = f"torch.nn.LayerNorm({cols}, eps={eps:g}, elementwise_affine={affine})"
    elif c["norm"] == "rmsnorm":
        if hasattr(torch.nn, "RMSNorm"):
            m = torch.nn.RMSNorm(cols, eps=eps, elementwise_affine=affine)
        else:
            m = LlamaRMSNorm(cols, eps, affine)
        named = {"dgamma": m.weight} if affine else {}
        formula = f"RMSNorm as {rmsnorm_kind()}, eps={eps:g}"
    else:
        m = DynamicTanh(cols, c["alpha"], c["has_beta"])
        named = {"dalpha": m.alpha, "dgamma": m.weight}
        if c["has_beta"]:
            named["dbeta"] = m.bias
        formula = ("DyT as in the paper's code: weight * tanh(alpha * x)"
                   + (" + bias" if c["has_beta"] else " (no bias)") + f", alpha={c['alpha']:g}")
    with torch.no_grad():
        if "dgamma" in named:
            named["dgamma"].copy_(gamma)
        if "dbeta" in named:
            named["dbeta"].copy_(beta)
    m = m.to(DTYPES[c["dtype"]])
    # .to() converts the parameters' data and keeps the Parameter objects.
    live = list(m.parameters())
    if not all(any(p is q for q in live) for p in named.values()):
        raise RuntimeError("module.to() replaced a parameter")
    return m, named, formula


class Exchange:
    """The shared memory file, mapped for one request."""

    def __enter__(self):
        size = os.fstat(EXCHANGE_FD).st_size
        self.mm = mmap.mmap(EXCHANGE_FD, size, mmap.MAP_SHARED,
                            mmap.PROT_READ | mmap.PROT_WRITE)
        return self

    def tensor(self, span, dtype):
        off, count = span
        return torch.frombuffer(self.mm, dtype=dtype, count=count, offset=off)

    def put(self, span, t):
        view = self.tensor(span, t.dtype)
        if view.numel() != t.numel():
            raise ValueError(f"{t.numel()} values for a span of {view.numel()}")
        view.copy_(t.reshape(-1))
        del view

    def __exit__(self, *exc):
        self.mm.close()
        return False


class Case:
    """The case set up: its module, its buffer sets, its graphs."""

    def __init__(self, c, cmd, variant_fn):
        self.c = c
        dt = DTYPES[c["dtype"]]
        rows, cols = c["rows"], c["cols"]
        with Exchange() as xf:
            x = xf.tensor(cmd["x"], dt).reshape(rows, cols).clone()
            gamma = xf.tensor(cmd["gamma"], torch.float32).clone()
            beta = xf.tensor(cmd["beta"], torch.float32).clone()
            dy = xf.tensor(cmd["dy"], dt).reshape(rows, cols).clone() if "dy" in cmd else None
        self.module, self.params, formula = build_module(c, gamma, beta)
        self.fn = variant_fn(self.module)
        self.fwd = c["pass"] == "fwd"
        sets = max(1, int(cmd["sets"]))
        self.xs = [x] + [x.clone() for _ in range(sets - 1)]
        self.dys = [dy] + [dy.clone() for _ in range(sets - 1)] if dy is not None else None
        self.next = 0
        # The first call, untimed: torch.compile compiles here.
        if self.fwd:
            with torch.no_grad():
                self.fn(self.xs[0])
        else:
            self.graphs = []
            for xi, dyi in zip(self.xs, self.dys):
                leaf = xi.detach().requires_grad_(True)
                yi = self.fn(leaf)
                self.graphs.append((yi, (leaf, *self.params.values()), dyi))
            y0, ins0, dy0 = self.graphs[0]
            torch.autograd.grad(y0, ins0, grad_outputs=dy0, retain_graph=True)
        pass_note = ("fwd under torch.no_grad()" if self.fwd else
                     "bwd: torch.autograd.grad of sum(y*dy) w.r.t. x and the parameters on a "
                     "retained graph")
        params_note = "; parameters in bf16" if c["dtype"] == "bf16" else ""
        self.note = (f"{c['variant']}, torch {torch.__version__}, cpu, "
                     f"{torch.get_num_threads()} thread(s): {formula}; {pass_note}; outputs "
                     f"allocated by torch per call{params_note}; {sets} buffer set(s)")

    def verify(self, cmd):
        rows = int(cmd["rows"])
        x = self.xs[0][:rows]
        with Exchange() as xf:
            xf.put(cmd["x_echo"], x)
            if self.fwd:
                with torch.no_grad():
                    y = self.fn(x)
                check_dtype(y, x.dtype)
                xf.put(cmd["y"], y)
                return
            dy = self.dys[0][:rows]
            xf.put(cmd["dy_echo"], dy)
            leaf = x.detach().clone().requires_grad_(True)
            y = self.fn(leaf)
            check_dtype(y, x.dtype)
            grads = torch.autograd.grad(y, (leaf, *self.params.values()), grad_outputs=dy)
            xf.put(cmd["dx"], grads[0])
            for name, g in zip(self.params, grads[1:]):
                xf.put(cmd[name], g.reshape(-1).to(torch.float32))

    def time(self, n):
        """Total ns of n calls, rotating the buffer sets when there are
        several; nothing but the calls between the clock readings."""
        clock = time.perf_counter_ns
        fn, sets = self.fn, len(self.xs)
        if self.fwd:
            with torch.no_grad():
                if sets == 1:
                    x = self.xs[0]
                    t0 = clock()
                    for _ in range(n):
                        fn(x)
                    t1 = clock()
                else:
                    xs, k = self.xs, self.next
                    t0 = clock()
                    for _ in range(n):
                        fn(xs[k])
                        k = k + 1 if k + 1 < sets else 0
                    t1 = clock()
                    self.next = k
            return t1 - t0
        grad = torch.autograd.grad
        if sets == 1:
            y, ins, dy = self.graphs[0]
            t0 = clock()
            for _ in range(n):
                grad(y, ins, grad_outputs=dy, retain_graph=True)
            t1 = clock()
        else:
            graphs, k = self.graphs, self.next
            t0 = clock()
            for _ in range(n):
                y, ins, dy = graphs[k]
                grad(y, ins, grad_outputs=dy, retain_graph=True)
                k = k + 1 if k + 1 < sets else 0
            t1 = clock()
            self.next = k
        return t1 - t0


def check_dtype(y, want):
    if y.dtype != want:
        raise TypeError(f"the module returned {y.dtype}, not the case's {want}")


def thread_cpus(threads):
    """The CPUs each of the process's threads may run on, once torch's
    worker threads exist for that count."""
    torch.set_num_threads(threads)
    torch.ones(1 << 22).mul_(2.0).sum()
    cpus = []
    for tid in sorted(os.listdir("/proc/self/task"), key=int):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("Cpus_allowed_list:"):
                        cpus.append(line.split(":", 1)[1].strip())
        except OSError:
            pass
    return cpus


class Peer:
    def __init__(self):
        self.variants = {"torch-eager": {"available": True},
                         "torch-compile": compile_availability(),
                         "liger": liger_availability()}
        self.cases = {}
        self.case = None

    def hello(self):
        return {"ok": True, "peer": "dytbench-torch", "protocol": PROTOCOL,
                "python": platform.python_version(), "executable": sys.executable,
                "torch": torch.__version__, "device": "cpu", "parallel": parallel_backend(),
                "cpu_capability": cpu_capability(),
                "rmsnorm": rmsnorm_kind(), "timer": timer_info(), "variants": self.variants}

    def plan(self, doc):
        if doc.get("protocol") != PROTOCOL:
            return {"ok": False, "error": f"plan of protocol {doc.get('protocol')}, "
                                          f"this peer speaks {PROTOCOL}"}
        if doc.get("device") != "cpu":
            return {"ok": False, "error": "this peer measures CPU cases only"}
        self.cases = {int(c["id"]): c for c in doc["cases"]}
        try:  # inter-op threads run nothing here; fewer threads, less noise
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        return {"ok": True,
                "thread_cpus": {str(t): thread_cpus(int(t)) for t in doc.get("threads", [])}}

    def setup(self, cmd):
        self.case = None
        c = self.cases[int(cmd["id"])]
        v = self.variants[c["variant"]]
        if not v["available"]:
            return {"ok": False, "status": "skipped", "error": v["reason"]}
        torch.set_num_threads(int(c["threads"]))
        if torch.get_num_threads() != int(c["threads"]):
            return {"ok": False, "error": f"torch runs {torch.get_num_threads()} thread(s), "
                                          f"not the case's {c['threads']}"}
        variant_fn = (lambda m: m) if c["variant"] == "torch-eager" else torch.compile
        self.case = Case(c, cmd, variant_fn)
        return {"ok": True, "note": self.case.note}

    def verify(self, cmd):
        self.case.verify(cmd)
        return {"ok": True}

    def time(self, cmd):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        ns = self.case.time(int(cmd["n"]))
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        ru = [r1.ru_minflt - r0.ru_minflt, r1.ru_majflt - r0.ru_majflt,
              r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw]
        return {"ok": True, "ns": ns, "ru": ru}

    def release(self, cmd):
        self.case = None
        return {"ok": True}


def read_line():
    line = sys.stdin.buffer.readline()
    if not line:
        sys.exit(0)
    try:
        obj = json.loads(line)
    except ValueError as ex:
        die(f"not a JSON line from dytbench: {ex}", 3)
    if not isinstance(obj, dict):
        die("not a JSON object from dytbench", 3)
    return obj


def main():
    peer = Peer()
    send(peer.hello())
    try:
        send(peer.plan(read_line()))
    except (KeyError, TypeError, ValueError) as ex:
        send({"ok": False, "error": f"bad plan: {type(ex).__name__}: {ex}"})
    handlers = {"setup": peer.setup, "verify": peer.verify, "time": peer.time,
                "release": peer.release}
    while True:
        cmd = read_line()
        handler = handlers.get(cmd.get("cmd"))
        if handler is None:
            send({"ok": False, "error": f"unknown request {cmd.get('cmd')!r}"})
            continue
        if cmd["cmd"] in ("verify", "time") and peer.case is None:
            send({"ok": False, "error": f"{cmd['cmd']} without a case set up"})
            continue
        try:
            send(handler(cmd))
        except Exception as ex:  # the case fails with it; the peer goes on
            peer.case = None
            send({"ok": False, "status": "failed", "error": f"{type(ex).__name__}: {ex}"})


if __name__ == "__main__":
    main()
