#!/usr/bin/env python3
"""Parity of `waqiti train` with scikit-learn's LogisticRegression on the same matrix.

Usage (from the repository root):
    waqiti train --input labeled.jsonl --spec models/spec.json --out models/NAME.json \
        --export-matrix .deps/NAME.matrix.csv
    .deps/bench-venv/bin/python bench/model/parity.py --matrix .deps/NAME.matrix.csv \
        --model models/NAME.json [--out bench/results/model-parity.md]

The matrix is `waqiti train --export-matrix`: raw feature values (empty = missing), `label`,
`split`. The script applies the model's own preprocessing, fitted on the train split: clip to
the train split's [min, max], standardize with its mean and population std (std 1 for a
constant column), impute missing to 0 (the mean). It then fits scikit-learn with the same
objective: ours is (1/n)·Σ sᵢ·ℓᵢ + (λ/2)·‖w‖², scikit-learn's C·Σ sᵢ·ℓᵢ + ½·‖w‖², equal up
to a factor when C = 1 / (λ · n), n = training rows; the intercept is unpenalized in both.
It reports coefficient differences and the AUC of both models on the validation rows.
"""
import argparse
import json
import platform
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score


def preprocess(x_raw, train_mask):
    train = x_raw[train_mask]
    lower = np.nanmin(train, axis=0)
    upper = np.nanmax(train, axis=0)
    clipped_train = np.clip(train, lower, upper)
    mean = np.nanmean(clipped_train, axis=0)
    std = np.nanstd(clipped_train, axis=0)
    std = np.where(std > 1e-12 * np.maximum(1, np.abs(mean)), std, 1.0)
    z = (np.clip(x_raw, lower, upper) - mean) / std
    return np.where(np.isnan(x_raw), 0.0, z), mean, std


def waqiti_scores(model, x_raw):
    feats = model["features"]
    lower = np.array([f["clip"][0] for f in feats])
    upper = np.array([f["clip"][1] for f in feats])
    mean = np.array([f["mean"] for f in feats])
    std = np.array([f["std"] for f in feats])
    weight = np.array([f["weight"] for f in feats])
    z = np.where(np.isnan(x_raw), 0.0, (np.clip(x_raw, lower, upper) - mean) / std)
    return 1 / (1 + np.exp(-(z @ weight + model["bias"])))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matrix", required=True)
    parser.add_argument("--model", required=True, help="the model waqiti trained on this matrix")
    parser.add_argument("--out", default="bench/results/model-parity.md")
    args = parser.parse_args()

    with open(args.model) as f:
        model = json.load(f)
    l2 = model["training"]["l2"]
    class_weight = model["training"]["class_weight"]

    frame = pd.read_csv(args.matrix)
    names = list(frame.columns[:-2])
    expressions = [f["expression"] for f in model["features"]]
    if names != expressions:
        sys.exit(f"matrix columns {names} differ from the model's features {expressions}")
    x_raw = frame[names].to_numpy(dtype=np.float64)
    y = frame["label"].to_numpy(dtype=np.int64)
    train = (frame["split"] == "train").to_numpy()
    valid = ~train
    z, mean, std = preprocess(x_raw, train)
    n = int(train.sum())

    started = time.perf_counter()
    reference = LogisticRegression(
        C=1.0 / (l2 * n), penalty="l2", solver="lbfgs", tol=1e-10, max_iter=10000,
        class_weight="balanced" if class_weight == "balanced" else None,
    )
    reference.fit(z[train], y[train])
    fit_seconds = time.perf_counter() - started

    ours_w = np.array([f["weight"] for f in model["features"]])
    ref_w = reference.coef_[0]
    eval_rows = valid if valid.any() else train
    ours_scores = waqiti_scores(model, x_raw[eval_rows])
    ref_scores = reference.predict_proba(z[eval_rows])[:, 1]
    ours_auc = roc_auc_score(y[eval_rows], ours_scores)
    ref_auc = roc_auc_score(y[eval_rows], ref_scores)
    ours_ap = average_precision_score(y[eval_rows], ours_scores)
    ref_ap = average_precision_score(y[eval_rows], ref_scores)

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "unknown"
    lines = [
        "# Model parity: waqiti train vs scikit-learn",
        "",
        f"`.deps/bench-venv/bin/python bench/model/parity.py --matrix {args.matrix} --model {args.model}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"scikit-learn {sklearn.__version__}. Commit: {commit}.",
        f"Matrix: {len(frame)} rows ({n} train, {int(valid.sum())} validation), {len(names)} features, "
        f"fraud rate {y.mean():.4%}. λ = {l2} → C = 1/(λ·n) = {1.0 / (l2 * n):.6g}; class weight {class_weight}.",
        f"waqiti stopped with `{model['training']['stop_reason']}` and kept iteration {model['training']['iterations']} "
        "(early stopping on validation log loss); scikit-learn runs L-BFGS to tol 1e-10.",
        "",
        "| metric | waqiti | scikit-learn | difference |",
        "|---|---|---|---|",
        f"| validation AUC-ROC | {ours_auc:.5f} | {ref_auc:.5f} | {ours_auc - ref_auc:+.5f} (target within 0.002) |",
        f"| validation average precision | {ours_ap:.5f} | {ref_ap:.5f} | {ours_ap - ref_ap:+.5f} |",
        f"| intercept | {model['bias']:.5f} | {reference.intercept_[0]:.5f} | {model['bias'] - reference.intercept_[0]:+.5f} |",
        f"| max abs coefficient difference | | | {np.max(np.abs(ours_w - ref_w)):.2e} |",
        f"| scikit-learn fit time | | {fit_seconds:.1f} s | |",
        "",
        "| # | feature | waqiti weight | scikit-learn weight | difference |",
        "|---|---|---|---|---|",
    ]
    for i, name in enumerate(names):
        lines.append(f"| {i} | `{name.replace('|', chr(92) + '|')}` | {ours_w[i]:.5f} | {ref_w[i]:.5f} | {ours_w[i] - ref_w[i]:+.2e} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text)
    if abs(ours_auc - ref_auc) > 0.002:
        sys.exit(f"AUC differs by {abs(ours_auc - ref_auc):.4f} > 0.002")


if __name__ == "__main__":
    main()
