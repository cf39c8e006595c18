"""Aggregates bench/compare.sh's runs into docs/compare/README.md: mean ± sample std over the
seeds of every eval.json figure, β̂ and chain breaks over each run's last 500 updates, and the
training wall time. Standard library only."""
import json
import os
import statistics
import sys
from pathlib import Path

out, docs, seeds, variants = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]

def judge(key):
    return lambda e, m, s: (e.get("judge") or {}).get(key)


def likelihood(key):
    return lambda e, m, s: (e.get("likelihood") or {}).get(key)


# Two tables: how the model infers and restores (top), what it generates (bottom).
MODEL = [
    ("acc. mean-field", lambda e, m, s: e["accuracy"]["mean_field"], 4),
    ("acc. sampled", lambda e, m, s: e["accuracy"]["sampled"], 4),
    ("acc. recognition read-out", lambda e, m, s: e["accuracy"].get("recognition"), 4),
    ("recon MSE", lambda e, m, s: e["reconstruction_mse"], 4),
    ("inpaint MSE", lambda e, m, s: e["inpainting"]["mse"], 4),
    ("β̂ (last 500)", lambda e, m, s: mean_of(m[-500:], "beta_hat"), 2),
    ("chain breaks", lambda e, m, s: mean_of(m[-500:], "chain_breaks"), 4),
    ("train wall (s)", lambda e, m, s: s["wall_seconds"], 0),
]
SAMPLES = [
    ("judge agreement", judge("agreement"), 4),
    ("judged-class entropy (bits)", judge("judged_entropy_bits"), 3),
    ("judge confidence", judge("mean_confidence"), 4),
    ("Fréchet (judge features)", judge("frechet"), 2),
    ("class-bit entropy (bits)", lambda e, m, s: e["novelty"]["class_entropy_bits"], 3),
    ("gen→train", lambda e, m, s: e["novelty"]["generated_to_train"], 3),
    ("gen→other gen", lambda e, m, s: e["novelty"]["generated_to_generated"], 3),
    ("test log-lik. (nats)", likelihood("log_likelihood"), 2),
]


def mean_of(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.fmean(values) if values else None


def cell(values, digits):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


lines = [
    "# Baselines: the default preset with each prior",
    "",
    f"Data: {os.environ.get('DATA_NAME', 'data/mnist-10k (shipped)')}. "
    f"Seeds {', '.join(seeds)}; mean ± sample standard deviation over them. Regenerate with "
    f"`{os.environ.get('REGEN', 'make compare')}` (bench/compare.sh; release build, in-process "
    "emulator unless said). Figures are `trainer eval`'s (README, \"Evaluating a run\"); "
    "β̂ and chain breaks are means over each run's last 500 updates of `metrics.jsonl`.",
    "",
]
reference = None


def table(columns):
    global reference
    rows = ["| prior | " + " | ".join(c[0] for c in columns) + " |", "|" + "---|" * (len(columns) + 1)]
    for v in variants:
        cols = [[] for _ in columns]
        for s in seeds:
            run = out / v / f"s{s}"
            e = json.loads((run / "eval.json").read_text())
            m = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l]
            summary = json.loads((run / "summary.json").read_text())
            reference = e
            for i, (_, f, _) in enumerate(columns):
                cols[i].append(f(e, m, summary))
        rows.append(f"| {v} | " + " | ".join(cell(c, d) for c, (_, _, d) in zip(cols, columns)) + " |")
    return rows


lines += ["## The model: inference, reconstruction, the device", ""] + table(MODEL)
lines += ["", "## Its samples, as a judge sees them", ""] + table(SAMPLES)
if reference:
    n = reference["novelty"]
    j = reference.get("judge")
    if j:
        lines += [
            "",
            f"The judge (an MLP trained once on the training split, README \"Evaluating a run\") "
            f"reads the test set at accuracy {j['judge_test_accuracy']:.4f} and mean confidence "
            f"{j['test_mean_confidence']:.4f}; the Fréchet distance of as many training images as "
            f"generated digits to the test set is {j['frechet_train_reference']:.2f} (the floor at "
            f"this sample size). Agreement: the share of generated digits the judge puts in the "
            f"class their class bits name; judged-class entropy: of the judge's class histogram "
            f"(log2 10 = 3.322 at most).",
        ]
    lines += [
        "",
        "Accuracy: mean-field and sampled are the model's own class bits, inferred with the "
        "class bits hidden and read out through the generator; the recognition read-out is a "
        "soft-max classifier fitted on the training split's mean-field top codes (the 60 units "
        "the prior models), scored on the test split's.",
    ]
    lines += [
        "",
        "Test log-likelihood: `trainer eval`'s importance-sampled estimate over the first 1000 "
        "test images, binarised (README, \"Evaluating a run\"); a lower bound in expectation for "
        "the factorized prior, possibly optimistic for the Boltzmann prior (its log Z by AIS); "
        "none for the annealer prior, whose distribution is the device's at a β the trainer "
        "does not know.",
    ]
    lines += [
        "",
        f"For reference, real test images: nearest training image {n['test_to_train']:.3f}, "
        f"nearest other test image {n['test_to_test']:.3f}; inpainting by the training set's "
        f"mean image {reference['inpainting']['train_mean_mse']:.4f} "
        f"({reference['inpainting']['hidden']} half hidden).",
        "",
        "Generated digits (first seed), one picture per prior:",
        "",
    ]
    lines += [f"- {v}: ![{v}]({v}-generated.png)" for v in variants]
(docs / "README.md").write_text("\n".join(lines) + "\n")
