"""Train the English complaint model and write ``bot/data/complaint_model.json``.

    .venv/bin/python -m bench.train_negativity [--data PATH/Tweets.csv] [--check]

Prints 5-fold cross-validated figures (never scores on the training rows) next to plain VADER,
then fits on every row and writes the weights. ``--check`` only prints the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.complaint_model import CLASSES, MODEL_PATH, feature_names, features
from bot.complaints import CueMatcher
from bot.negativity import Vader, label_for

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "airline_tweets" / "Tweets.csv"
TRAINED_ON = "Twitter US Airline Sentiment (Crowdflower 2015), 10,140 rows"
REGULARISATION = 0.3  # inverse strength; 0.1..1 give the same figures within 0.002
FOLDS = 5


def load(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    return [row["text"] for row in rows], np.array([row["airline_sentiment"] for row in rows])


def design(texts: list[str]) -> np.ndarray:
    polarity = Vader()  # VADER's scores, the library's to the bit, faster
    matcher = CueMatcher()
    return np.array([features(text, polarity, matcher)[0] for text in texts])


def fit(matrix: np.ndarray, labels: np.ndarray) -> LogisticRegression:
    model = LogisticRegression(C=REGULARISATION, max_iter=10_000)
    return model.fit(matrix, labels)


def cross_validated(matrix: np.ndarray, labels: np.ndarray) -> np.ndarray:
    predicted = np.empty_like(labels)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    for train, test in folds.split(matrix, labels):
        predicted[test] = fit(matrix[train], labels[train]).predict(matrix[test])
    return predicted


def f1(labels: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    macro = float(f1_score(labels, predicted, average="macro"))
    negative = float(f1_score(labels, predicted, labels=["negative"], average=None)[0])
    return macro, negative


def weights(model: LogisticRegression, trained_on: str, features: list[str]) -> dict[str, Any]:
    """The JSON the runtime models read: classes, feature names, intercepts, coefficients."""
    assert tuple(model.classes_) == CLASSES
    return {
        "trained_on": trained_on,
        "regularisation": REGULARISATION,
        "classes": list(model.classes_),
        "features": features,
        "intercepts": [round(float(x), 6) for x in model.intercept_],
        "coefficients": [[round(float(x), 6) for x in row] for row in model.coef_],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--check", action="store_true", help="print figures, write nothing")
    args = parser.parse_args()
    texts, labels = load(args.data)
    vader = SentimentIntensityAnalyzer()
    plain = np.array([label_for(vader.polarity_scores(t)["compound"]).value for t in texts])
    matrix = design(texts)
    model_f1 = f1(labels, cross_validated(matrix, labels))
    print(f"{len(texts):,} labelled mentions, {matrix.shape[1]} features, {FOLDS}-fold CV")
    baseline = f1(labels, plain)
    print(f"plain VADER      macro-F1 {baseline[0]:.3f}  negative F1 {baseline[1]:.3f}")
    print(f"complaint model  macro-F1 {model_f1[0]:.3f}  negative F1 {model_f1[1]:.3f}")
    if not args.check:
        trained = weights(fit(matrix, labels), TRAINED_ON, feature_names(CueMatcher()))
        MODEL_PATH.write_text(json.dumps(trained, indent=1) + "\n", "utf-8")
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
