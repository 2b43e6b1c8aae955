"""Train the French negativity model and write ``bot/data/french_model.json``.

    .venv/bin/python -m bench.train_french [--data PATH/deft2017_umsab_french.csv] [--check]

Prints figures never measured on training rows: 5-fold cross-validation over every row, and the
val split scored by a model trained on the train split; vaderSentiment-fr beside each. Then fits
on every row and writes the weights.
"""

from __future__ import annotations

import argparse
import csv
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from bench import train_negativity
from bench.train_negativity import FOLDS, cross_validated, f1, weights
from bot.french_model import MODEL_PATH, feature_names, features
from bot.negativity import _french_polarity, label_for

DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "french_tweets"
    / "deft2017_umsab_french.csv"
)  # fmt: skip
TRAINED_ON = "DEFT 2017 French tweets via UMSAB (train and val splits), 2,163 rows"


def load(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    labels = np.array([row["label_name"] for row in rows])
    return [row["text"] for row in rows], labels, np.array([row["split"] for row in rows])


def polarity() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _french_polarity()


def design(texts: list[str]) -> np.ndarray:
    scores = polarity()
    return np.array([features(text, scores)[0] for text in texts])


def fit(matrix: np.ndarray, labels: np.ndarray) -> LogisticRegression:
    return train_negativity.fit(matrix, labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--check", action="store_true", help="print figures, write nothing")
    args = parser.parse_args()
    texts, labels, splits = load(args.data)
    matrix = design(texts)
    scores = polarity()
    plain = np.array([label_for(scores(text)["compound"]).value for text in texts])
    val = splits == "val"
    on_val = fit(matrix[~val], labels[~val]).predict(matrix[val])
    print(f"{len(texts):,} French tweets, {matrix.shape[1]} features")
    print(
        f"vaderSentiment-fr  {FOLDS}-fold macro-F1 {f1(labels, plain)[0]:.3f}"
        f"   val split {f1(labels[val], plain[val])[0]:.3f}"
    )
    print(
        f"French model       {FOLDS}-fold macro-F1 "
        f"{f1(labels, cross_validated(matrix, labels))[0]:.3f}"
        f"   val split {f1(labels[val], on_val)[0]:.3f}"
    )
    if not args.check:
        trained = weights(fit(matrix, labels), TRAINED_ON, feature_names())
        MODEL_PATH.write_text(json.dumps(trained, indent=1) + "\n", "utf-8")
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
