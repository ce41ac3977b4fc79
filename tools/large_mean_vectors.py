#!/usr/bin/env python3
"""Golden vectors for LayerNorm rows with a large mean (issue 12's repro).

Writes one case in the format of tests/vectors/README.md to stdout: rows of
MEAN +- SPREAD (uniform, rounded to fp32, so exact in fp32), dy ~ N(0, 1),
gamma ~ N(1, 0.25), beta ~ N(0, 0.25), eps 1e-5, with the float64 answers
(two-pass statistics, math.fsum for every sum). Feed it to the checker:

    python3 tools/large_mean_vectors.py > /tmp/large-mean.txt
    build/cli/dytbench verify --vectors /tmp/large-mean.txt

Arguments: [MEAN [SPREAD [ROWS [COLS [SEED]]]]], default 1e4 2 7 31 5.
tests/kernels/test_kernels_conditioning.c checks the same kind of input
against its own long-double answers; this script is for doing it by hand.
"""
import math
import random
import struct
import sys


def f32(v):
    return struct.unpack('f', struct.pack('f', v))[0]


def main():
    a = sys.argv[1:] + [None] * 5
    mean0 = float(a[0] or 1e4)
    spread = float(a[1] or 2)
    rows, cols = int(a[2] or 7), int(a[3] or 31)
    random.seed(int(a[4] or 5))
    eps = f32(1e-5)
    x = [[f32(mean0 + random.uniform(-spread, spread)) for _ in range(cols)] for _ in range(rows)]
    dy = [[f32(random.gauss(0, 1)) for _ in range(cols)] for _ in range(rows)]
    g = [f32(random.gauss(1, 0.25)) for _ in range(cols)]
    b = [f32(random.gauss(0, 0.25)) for _ in range(cols)]
    y, dx, mean, rstd = [], [], [], []
    dg, db = [[] for _ in range(cols)], [[] for _ in range(cols)]
    for r in range(rows):
        m = math.fsum(x[r]) / cols
        rs = 1 / math.sqrt(math.fsum((t - m) ** 2 for t in x[r]) / cols + eps)
        xh = [(t - m) * rs for t in x[r]]
        gg = [dy[r][j] * g[j] for j in range(cols)]
        m1 = math.fsum(gg) / cols
        m2 = math.fsum(gg[j] * xh[j] for j in range(cols)) / cols
        mean.append(m)
        rstd.append(rs)
        y += [xh[j] * g[j] + b[j] for j in range(cols)]
        dx += [rs * (gg[j] - m1 - xh[j] * m2) for j in range(cols)]
        for j in range(cols):
            dg[j].append(dy[r][j] * xh[j])
            db[j].append(dy[r][j])
    print("# layernorm rows of %g +- %g (uniform, exact in fp32), float64 answers" % (mean0, spread))
    print("case layernorm rows=%d cols=%d eps=1e-05 affine=1" % (rows, cols))
    out = [('x', [t for row in x for t in row]), ('dy', [t for row in dy for t in row]),
           ('gamma', g), ('beta', b), ('y', y), ('dx', dx),
           ('dgamma', [math.fsum(c) for c in dg]), ('dbeta', [math.fsum(c) for c in db]),
           ('mean', mean), ('rstd', rstd)]
    for name, v in out:
        print(name, len(v))
        print(' '.join(repr(t) for t in v))
    print('end')


if __name__ == '__main__':
    main()
