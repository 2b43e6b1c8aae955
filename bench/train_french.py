"""Train the French negativity model and write ``bot/data/french_model.json``.

    .venv/bin/python -m bench.train_french [--data PATH/deft2017_umsab_french.csv] [--check]

Prints figures never measured on training rows: 5-fold cross-validation over every row, and the
val split scored by a model trained on the train split; vaderSentiment-fr beside each. "As scored"
are the labels the scorer gives with those models: the care reading of ``bot/french_model.py`` on
top (plain requests, problem cues), then its emoji and clear-score rules. Then fits on every row and
writes the weights, with the English complaint model's weights for naming problems at all and for
how many (``bot/data/complaint_model.json``: retrain this after that one). Not its weights for each
cue group: those are how its English phrases read beside its English-only features, not what the
French phrases mean (see ``bot/french_model.py``); the French rows, political tweets that name
hardly any customer problem (and never a sarcastic "merci pour rien"), could not fit them either.
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
from sklearn.model_selection import StratifiedKFold

from bench.train_negativity import FOLDS, f1, weights
from bot import complaint_model
from bot.french_model import MODEL_PATH, care_feature_names, feature_names, features
from bot.model import LanguageGuess
from bot.negativity import NegativityScorer, _french_analyzer, label_for

DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "french_tweets"
    / "deft2017_umsab_french.csv"
)  # fmt: skip
TRAINED_ON = "DEFT 2017 French tweets via UMSAB (train and val splits), 2,163 rows"
# inverse strength, chosen by 5-fold CV inside each training fold of the train split (0.01..1):
# 0.1 in most folds; the French model has more features than rows justify at the English 0.3
REGULARISATION = 0.1
FRENCH = LanguageGuess("fr", 1.0)


def load(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    labels = np.array([row["label_name"] for row in rows])
    return [row["text"] for row in rows], labels, np.array([row["split"] for row in rows])


def analyzer(care_senses: bool = False) -> Any:
    """vaderSentiment-fr as the library ships it (the baseline), or as the model reads it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _french_analyzer(care_senses)


def polarity(care_senses: bool = False) -> Any:
    return analyzer(care_senses).polarity_scores


def design(texts: list[str]) -> np.ndarray:
    french = analyzer(care_senses=True)
    return np.array([features(text, french.polarity_scores, french.lexicon)[0] for text in texts])


def fit(matrix: np.ndarray, labels: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=REGULARISATION, max_iter=10_000).fit(matrix, labels)


def cross_validated(matrix: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each row's label from a model trained without its fold."""
    predicted = np.empty_like(labels)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    for train, test in folds.split(matrix, labels):
        predicted[test] = fit(matrix[train], labels[train]).predict(matrix[test])
    return predicted


def care_weights() -> dict[str, Any]:
    """The English complaint model's weights for the features the French care reading measures in
    the same sense (``care_feature_names``)."""
    english = json.loads(complaint_model.MODEL_PATH.read_text("utf-8"))
    names = care_feature_names()
    columns = [english["features"].index(name) for name in names]
    return {
        "from": f"bot/data/complaint_model.json ({english['trained_on']})",
        "features": names,
        "coefficients": [[row[column] for column in columns] for row in english["coefficients"]],
    }


def model_weights(model: LogisticRegression, trained_on: str) -> dict[str, Any]:
    return weights(model, trained_on, feature_names()) | {
        "regularisation": REGULARISATION,
        "care": care_weights(),
    }


def as_scored(texts: list[str], matrix: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The labels ``NegativityScorer`` gives each text, with a model trained without its fold."""
    predicted = np.empty_like(labels)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    for train, test in folds.split(matrix, labels):
        predicted[test] = scored(texts, test, fit(matrix[train], labels[train]))
    return predicted


def scored(texts: list[str], rows: np.ndarray, model: LogisticRegression) -> list[str]:
    scorer = NegativityScorer(french_weights=model_weights(model, "fold"))
    return [scorer.score(texts[row], FRENCH).sentiment.value for row in rows]


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
    on_train = fit(matrix[~val], labels[~val])
    on_val = on_train.predict(matrix[val])
    scored_val = scored(texts, np.flatnonzero(val), on_train)
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
    print(
        f"  as scored        {FOLDS}-fold macro-F1 "
        f"{f1(labels, as_scored(texts, matrix, labels))[0]:.3f}"
        f"   val split {f1(labels[val], np.array(scored_val))[0]:.3f}"
    )
    if not args.check:
        trained = model_weights(fit(matrix, labels), TRAINED_ON)
        MODEL_PATH.write_text(json.dumps(trained, indent=1) + "\n", "utf-8")
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
