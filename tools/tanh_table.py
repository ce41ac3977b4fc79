#!/usr/bin/env python3
# Generates the coefficient table of the AVX-512 tanh (kernels/x86/tanh_tab.h;
# algorithm and measured error in docs/tanh.md). Developer tool, not part of
# the build; needs mpmath (pip install mpmath). Usage:
#   python3 tools/tanh_table.py 5 9.1   # 5 coefficients (degree-4 G), clamp 9.1
# prints rows T0 (c), T1 (c0), T2.. (g0..) to paste into tanh_tab.h. Any
# change must be followed by the exhaustive sweep (build/tools/tanh-error).
# Per-interval polynomials for the table-driven tanh: interval 0 = [0,1/16):
# tanh(t) = t*G(t); interval j>=1: [2^k(1+m/4), 2^k(1+(m+1)/4)), k=-4+(j-1)//4,
# m=(j-1)%4: tanh(c+t) = c0 + t*G(t), c0 = float(tanh(c)). G degree D-1.
import mpmath as mp, struct, sys
mp.mp.dps = 40
D = int(sys.argv[1]) if len(sys.argv) > 1 else 6
CL = mp.mpf(sys.argv[2]) if len(sys.argv) > 2 else mp.mpf('9.5')
def f32(x): return struct.unpack('f', struct.pack('f', float(x)))[0]
rows = []
for j in range(32):
    if j == 0:
        c, w = mp.mpf(0), mp.mpf(1)/16
    else:
        k, m = -4 + (j-1)//4, (j-1) % 4
        c = mp.mpf(2)**k*(1 + mp.mpf(m)/4); w = mp.mpf(2)**k/4
    if c >= CL:   # unused entries: copy the last
        rows.append(rows[-1]); continue
    hi = min(w, CL - c)
    lo = mp.mpf(0)
    c0 = f32(mp.tanh(c)) if j else 0.0
    if c >= 8:  # expand around c' = atanh(c0) (an fp32), so tanh(c') ~= c0 exactly
        c1 = mp.mpf(f32(mp.atanh(mp.mpf(c0))))
        lo, hi, c = c - c1, c + hi - c1, c1
    G = (lambda t: mp.tanh(t)/t if t != 0 else mp.mpf(1)) if j == 0 else \
        (lambda t, c=c, c0=c0: (mp.tanh(c+t) - c0)/t if t != 0 else 1 - mp.tanh(c)**2)
    n = D  # G degree D-1 -> D nodes
    nodes = [lo + (hi-lo)*(1 - mp.cos(mp.pi*(i+0.5)/n))/2 for i in range(n)]
    A = mp.matrix([[x**p for p in range(n)] for x in nodes]); b = mp.matrix([G(x) for x in nodes])
    g = mp.lu_solve(A, b)
    rows.append([f32(c), c0] + [f32(g[p]) for p in range(n)])
# tables: T[0]=c, T[1]=c0, T[2..]=g0..g_{D-1}
for i in range(len(rows[0])):
    print("T%d %s" % (i, " ".join(repr(r[i]) for r in rows)))
