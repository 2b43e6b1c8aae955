"""Scoring quality and speed, each figure next to its baseline measured in the same run.

    .venv/bin/python -m bench.eval_scoring [--shared ../shared/data]

- Airline tweets (3 classes): 5-fold cross-validated macro-F1 and negative-class F1 of the complaint
  model (retrained on each fold's training rows), against plain VADER; then the labels the scorer
  gives with each fold's model (its emoji and clear-score rules on top of the likeliest class).
- VADER's own human-rated ground truth: Pearson r of the signed score with the human mean.
- French tweets: macro-F1 of the French model against vaderSentiment-fr, headline trained on the
  train split and scored on val (the acceptance protocol), then the gain per split, then the
  5-fold figure pooled over train and val as a secondary, labelled line.
- Speed on one core: the full scorer (language detection + negativity) against plain VADER, one
  text at a time and with languages detected a batch at a time (fastText then runs with its tables
  in the CPU cache instead of after the scoring has evicted them).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench import train_french, train_negativity
from bot.complaint_model import feature_names
from bot.complaints import CueMatcher
from bot.language import LanguageDetector
from bot.model import LanguageGuess
from bot.negativity import NegativityScorer, label_for

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ENGLISH = LanguageGuess("en", 1.0)
FRENCH = LanguageGuess("fr", 1.0)
BATCH = 1000


def macro_and_negative(labels: list[str], predicted: list[str]) -> str:
    macro = f1_score(labels, predicted, average="macro")
    negative = f1_score(labels, predicted, labels=["negative"], average=None)[0]
    return f"macro-F1 {macro:.3f}  negative F1 {negative:.3f}"


def airline(shared: Path) -> None:
    texts, labels = train_negativity.load(shared / "airline_tweets" / "Tweets.csv")
    vader = SentimentIntensityAnalyzer()
    plain = [label_for(vader.polarity_scores(t)["compound"]).value for t in texts]
    matrix = train_negativity.design(texts)
    ours = train_negativity.cross_validated(matrix, labels)
    print(f"airline tweets ({len(texts):,}, 3 classes, {train_negativity.FOLDS}-fold CV)")
    print(f"  plain VADER      {macro_and_negative(list(labels), plain)}")
    print(
        f"  Vigie            {macro_and_negative(list(labels), list(ours))}   goal >= 0.72 / 0.85"
    )
    scored = scorer_labels(texts, matrix, labels)
    print(f"  Vigie, as scored {macro_and_negative(list(labels), scored)}")


def scorer_labels(texts: list[str], matrix: np.ndarray, labels: np.ndarray) -> list[str]:
    """The labels ``NegativityScorer`` gives each text, with a model trained without its fold
    (the folds of ``train_negativity.cross_validated``)."""
    names = feature_names(CueMatcher())
    predicted = [""] * len(texts)
    folds = StratifiedKFold(train_negativity.FOLDS, shuffle=True, random_state=0)
    for train, test in folds.split(matrix, labels):
        model = train_negativity.fit(matrix[train], labels[train])
        weights = train_negativity.weights(model, "fold", names)
        scorer = NegativityScorer(english_weights=weights)
        for index in test:
            predicted[index] = scorer.score(texts[index], ENGLISH).sentiment.value
    return predicted


def ground_truth(shared: Path) -> None:
    vader = SentimentIntensityAnalyzer()
    scorer = NegativityScorer()
    print("VADER ground truth, Pearson r of the signed score with the human mean")
    for domain in ("tweets", "movieReviewSnippets", "amazonReviewSnippets", "nytEditorialSnippets"):
        path = shared / "vader_groundtruth" / f"{domain}_GroundTruth.txt"
        with path.open(encoding="utf-8-sig") as file:
            rows = [line.rstrip("\r\n").split("\t") for line in file]
        rows = [row for row in rows if len(row) >= 3]
        human = np.array([float(row[1]) for row in rows])
        plain = np.array([vader.polarity_scores(row[2])["compound"] for row in rows])
        ours = np.array([scorer.score(row[2], ENGLISH).compound for row in rows])
        goal = "   goal >= 0.87" if domain == "tweets" else ""
        print(
            f"  {domain:<22} plain VADER r {np.corrcoef(plain, human)[0, 1]:.3f}"
            f"   Vigie r {np.corrcoef(ours, human)[0, 1]:.3f}{goal}"
        )


FRENCH_GOAL = 0.60


def french(shared: Path) -> None:
    """The headline follows the acceptance protocol: trained on the train split, scored on val
    (the product owner scores a held-out test split the same way). The pooled 5-fold figure mixes
    in the train split (85% of rows), where even vaderSentiment-fr does better, so it comes last."""
    texts, labels, splits = train_french.load(
        shared / "french_tweets" / "deft2017_umsab_french.csv"
    )
    scores = train_french.polarity()
    plain = np.array([label_for(scores(text)["compound"]).value for text in texts])
    matrix = train_french.design(texts)
    val = splits == "val"
    on_val = train_french.fit(matrix[~val], labels[~val]).predict(matrix[val])
    within_train = train_french.cross_validated(matrix[~val], labels[~val])
    pooled = train_french.cross_validated(matrix, labels)
    headline = f1_score(labels[val], on_val, average="macro")
    verdict = "met" if headline >= FRENCH_GOAL else "NOT met"
    print(
        f"French tweets ({len(texts):,}: train {np.sum(~val):,}, val {np.sum(val):,};"
        " the model never scores rows it was trained on)"
    )
    print("  trained on train, scored on val (the acceptance protocol)")
    print(
        f"    vaderSentiment-fr macro-F1 {f1_score(labels[val], plain[val], average='macro'):.3f}"
        f"   Vigie macro-F1 {headline:.3f}   goal >= {FRENCH_GOAL:.2f}: {verdict} on val"
    )
    print("  gain over vaderSentiment-fr per split")
    print(_french_gain("val, trained on train", labels[val], plain[val], on_val))
    print(_french_gain("train, 5-fold within", labels[~val], plain[~val], within_train))
    print("  secondary, not the protocol: 5-fold pooled over train + val (85% train rows)")
    print(_french_gain("train + val, 5-fold", labels, plain, pooled))


def _french_gain(split: str, labels: np.ndarray, plain: np.ndarray, ours: np.ndarray) -> str:
    baseline = f1_score(labels, plain, average="macro")
    vigie = f1_score(labels, ours, average="macro")
    return (
        f"    {split:<22} vaderSentiment-fr {baseline:.3f}   Vigie {vigie:.3f}"
        f"   gain {vigie - baseline:+.3f}"
    )


def speed(shared: Path) -> None:
    texts, _ = train_negativity.load(shared / "airline_tweets" / "Tweets.csv")
    vader = SentimentIntensityAnalyzer()
    scorer = NegativityScorer()
    detector = LanguageDetector(scorer.languages)
    preferred = ("en", "fr")

    def each(work: Callable[[str], object]) -> Callable[[], None]:
        def run() -> None:
            for text in texts:
                work(text)

        return run

    def in_batches() -> None:
        # languages for a batch first, then its scores: fastText's tables stay in the CPU cache
        for start in range(0, len(texts), BATCH):
            batch = texts[start : start + BATCH]
            for text, language in zip(batch, detector.detect_many(batch, preferred), strict=True):
                scorer.score(text, language)

    # interleaved passes, best of five each: all see the same machine conditions
    contenders: dict[str, Callable[[], None]] = {
        "vader": each(vader.polarity_scores),
        "negativity": each(lambda text: scorer.score(text, ENGLISH)),
        "full": each(lambda text: scorer.score(text, detector.detect(text, preferred))),
        "batched": in_batches,
    }
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(5):
        for name, work in contenders.items():
            started = time.perf_counter()
            work()
            best[name] = min(best[name], time.perf_counter() - started)
    plain, negativity, full, batched = (len(texts) / best[name] for name in contenders)
    print("speed on one core, airline texts (mentions/s, best of 5 interleaved passes)")
    print(
        f"  plain VADER {plain:,.0f}   negativity {negativity:,.0f} ({negativity / plain:.2f}x)"
        f"   full scorer with language {full:,.0f} ({full / plain:.2f}x)"
    )
    print(
        f"  full scorer, languages detected {BATCH:,} at a time {batched:,.0f}"
        f" ({batched / plain:.2f}x)   goal >= 0.52x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args()
    if not args.shared.exists():
        raise SystemExit(f"{args.shared} not found: the shared data sets are needed")
    for section in (airline, ground_truth, french, speed):
        section(args.shared)


if __name__ == "__main__":
    main()
