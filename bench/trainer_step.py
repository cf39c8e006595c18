"""Numpy reference of one wake-sleep update of the Helmholtz machine (everything but the
annealer call), timed in the same run as qahm's Rust step.

Layers as qahm's: recognition 266 → 120 → 60, generator 60 → 120 → 266 (256 tanh pixels, 10
±1 class bits); ±1 Bernoulli hidden units with tanh means; delta-rule gradients. The prior's
samples are given (here: coin flips), as the annealer would give them.

Usage: python trainer_step.py BATCH DREAMS REPEATS  → prints JSON {"seconds_per_step": ...}
"""
import json
import sys
import time

import numpy as np

V, H1, H2, PIX = 266, 120, 60, 256


def sample_pm1(means, rng):
    return np.where(rng.random(means.shape, dtype=np.float32) < (1.0 + means) / 2.0, 1.0, -1.0).astype(np.float32)


def delta(w, b, x, y):
    err = y - np.tanh(x @ w.T + b)
    return err.T @ x / x.shape[0], err.mean(axis=0)


def step(p, v, u2_prior, lr, rng):
    # wake: recognition samples, generator gradients
    u1 = sample_pm1(np.tanh(v @ p["R1"].T + p["r1"]), rng)
    u2 = sample_pm1(np.tanh(u1 @ p["R2"].T + p["r2"]), rng)
    g1 = delta(p["G1"], p["g1"], u2, u1)
    g2 = delta(p["G2"], p["g2"], u1, v)
    # sleep: dreams from the prior samples, recognition gradients
    d1 = sample_pm1(np.tanh(u2_prior @ p["G1"].T + p["g1"]), rng)
    dv_mean = np.tanh(d1 @ p["G2"].T + p["g2"])
    dv = dv_mean.copy()
    dv[:, PIX:] = sample_pm1(dv_mean[:, PIX:], rng)
    s1 = delta(p["R1"], p["r1"], dv, d1)
    s2 = delta(p["R2"], p["r2"], d1, u2_prior)
    # updates
    for (w, b), (dw, db) in [(("G1", "g1"), g1), (("G2", "g2"), g2), (("R1", "r1"), s1), (("R2", "r2"), s2)]:
        p[w] += lr * dw
        p[b] += lr * db


def main():
    batch, dreams, repeats = (int(a) for a in sys.argv[1:4])
    rng = np.random.default_rng(0)
    f = np.float32
    p = {
        "R1": (rng.standard_normal((H1, V)) * 0.01).astype(f), "r1": np.zeros(H1, f),
        "R2": (rng.standard_normal((H2, H1)) * 0.01).astype(f), "r2": np.zeros(H2, f),
        "G1": (rng.standard_normal((H1, H2)) * 0.01).astype(f), "g1": np.zeros(H1, f),
        "G2": (rng.standard_normal((V, H1)) * 0.01).astype(f), "g2": np.zeros(V, f),
    }
    v = np.where(rng.random((batch, V)) < 0.3, 1.0, -1.0).astype(f)
    u2_prior = np.where(rng.random((dreams, H2)) < 0.5, 1.0, -1.0).astype(f)
    step(p, v, u2_prior, f(0.01), rng)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        step(p, v, u2_prior, f(0.01), rng)
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({"tool": "numpy " + np.__version__, "batch": batch, "dreams": dreams,
                      "seconds_per_step": times[len(times) // 2]}))


if __name__ == "__main__":
    main()
