"""The learned second opinion: a linear text classifier trained on labelled examples.

Features (see :mod:`cases.routing.features`): character 1–3-grams and English stem n-grams, TF-IDF weighted. A
one-vs-rest linear SVM scores every category; on cross-validated scores of the training examples one softmax is
fitted, ``t·score + a·keywords + b·keywords_in_lead``, which both calibrates the probabilities (``t``) and says how
far to trust the rules' keyword evidence (``a``, ``b``). A second, binary SVM with Platt scaling (on the text and
keyword evidence, not the danger signals, so it is a second opinion beside them) gives the probability that the report
is an emergency; its threshold is the highest at which signals, the category's own ``emergency`` priority or the
probability catch 98% of the training emergencies in cross-validation (so the probability is not set low for
emergencies that a gas or elderly category already makes one), and it only counts when the classifier sees an
emergency-prone category.
Only the train split is learned from; the held-out split (:func:`cases.routing.examples.split`) sets the
confidence threshold (the lowest at which fewer than 1 in 20 confident decisions are wrong) and the scores
that decide whether a retrained model may replace the current one.

Prediction is plain numpy over the learned weights (no scikit-learn call per report), and the nearest
labelled examples are found by cosine similarity on the same text features.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from cases.routing.examples import Example, split
from cases.routing.features import (
    char_grams,
    keyword_row,
    lead_end,
    normalized_char_grams,
    normalized_word_grams,
    tfidf_row,
    word_grams,
)
from cases.routing.keywords import Match
from cases.textnorm import normalize

__all__ = ["MAX_WRONG", "Prediction", "RoutingModel", "train"]

MAX_WRONG = 0.05
"""The confidence threshold keeps the error rate of confident held-out decisions below this."""
DEFAULT_THRESHOLD = 0.6
EMERGENCY_THRESHOLD = 0.3
"""Highest emergency probability threshold (a report at or above it is treated as an emergency)."""
EMERGENCY_CV_RECALL = 0.98
"""Share of the training emergencies that danger signals or the emergency probability must catch in
cross-validation; the threshold is the highest that does (recall before precision)."""
_EMERGENCY_FLOOR = 0.03
EMERGENCY_PRONE_MASS = 0.5
"""The emergency probability counts only with at least this much category probability on emergency-prone
categories (5-fold CV on the train split: 0.2, 0.5, 0.8 keep the same emergency recall, 296/301; false alarms
202, 186, 177 of 2,293; the middle is kept, recall first)."""
NEIGHBOURS = 3
NEIGHBOUR_MAX_DF = 0.05
_C_SVM = 2.0
_C_EMERGENCY = 0.5
"""Chosen by 5-fold cross-validation on the train split (fewest false alarms at the recall target)."""
_EMERGENCY_CV_REPEATS = 3
_SVM_ITERATIONS = 20_000
_DEFAULT_TEMPERATURE = 3.0
_DEFAULT_KEYWORD = 1.0

_DERIVED = frozenset({"text_weights", "category_column", "prone"})
"""Attributes rebuilt from the others on load (:meth:`RoutingModel.__post_init__`), never pickled."""

KeywordFinder = Callable[[str], list[Match]]
"""Finds the (overlap-resolved, place-filtered) keyword matches of a message, as the router does."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """The classifier's opinion on one message."""

    probabilities: tuple[tuple[str, float], ...]
    """Every category with its probability, most likely first."""
    emergency_probability: float
    neighbours: tuple[tuple[str, str, float], ...]
    """The closest labelled examples: (text, category, cosine similarity), closest first."""


@dataclass
class RoutingModel:
    """A trained classifier with everything needed to predict and explain (picklable)."""

    key: str
    categories: list[str]
    char_vocabulary: dict[str, int]
    char_idf: np.ndarray
    word_vocabulary: dict[str, int]
    word_idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    emergency_coef: np.ndarray
    emergency_intercept: float
    neighbours_by_feature: sparse.csr_matrix
    """Text features × train examples (rows L2-normalised per example), for cosine look-ups; the commonest
    features are left out (see :func:`_without_common`)."""
    train_texts: list[str]
    train_categories: list[str]
    keyword_weight: float = 0.0
    """Added to a category's score per unit of log keyword weight in the whole message (fitted with the
    temperature on cross-validated scores)."""
    lead_weight: float = 0.0
    """The same for keyword weight in the lead (first sentence)."""
    threshold: float = DEFAULT_THRESHOLD
    emergency_threshold: float = EMERGENCY_THRESHOLD
    emergency_prone: tuple[str, ...] = ()
    """Categories with at least one emergency among the training examples (``other``, ``noise``… have none)."""
    held_out: dict[str, Any] = field(default_factory=dict)
    """Held-out scores at training time: accuracy, emergency recall, sizes."""
    trained_on: int = 0
    text_weights: np.ndarray = field(init=False, repr=False, compare=False)
    """Per text feature (rows), its category weights then its emergency weight, ``[coef.T | emergency_coef]``:
    one gather of the message's rows scores both. Derived from ``coef`` (not pickled)."""
    category_column: dict[str, int] = field(init=False, repr=False, compare=False)
    """Position of each category in ``categories``. Derived (not pickled), like the one below."""
    prone: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        width = self.text_features
        self.text_weights = np.ascontiguousarray(
            np.hstack([self.coef[:, :width].T, self.emergency_coef[:width, None]]))
        self.category_column = {c: n for n, c in enumerate(self.categories)}
        self.prone = frozenset(self.emergency_prone)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in _DERIVED}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    @property
    def text_features(self) -> int:
        """Number of text (non-keyword) feature columns."""
        return len(self.char_vocabulary) + len(self.word_vocabulary)

    def _text_row(self, norm: str) -> tuple[np.ndarray, np.ndarray]:
        """Columns and TF-IDF values of the normalised text ``norm``."""
        char_cols, char_vals = tfidf_row(normalized_char_grams(norm), self.char_vocabulary, self.char_idf)
        word_cols, word_vals = tfidf_row(normalized_word_grams(norm), self.word_vocabulary, self.word_idf)
        if not len(word_cols):
            return char_cols, char_vals
        columns = np.concatenate([char_cols, word_cols + len(self.char_vocabulary)])
        return columns, np.concatenate([char_vals, word_vals])

    def predict(self, text: str, keywords: Sequence[Match], danger: int = 0, *,
                normalized: str | None = None) -> Prediction:
        """Category probabilities, emergency probability and nearest examples for ``text``.

        ``keywords`` are the keyword matches the router found; ``danger`` the number of danger signals;
        ``normalized`` is ``normalize(text)`` when the caller has it already (the router does).
        """
        columns, values = self._text_row(normalize(text) if normalized is None else normalized)
        extra = _extra_row(keywords, self.category_column, text, danger)
        width = self.text_features
        keyword = extra[:-1]
        text_scores = values @ self.text_weights[columns]
        scores = (text_scores[:-1] + self.intercept + self.keyword_weight * keyword[0::2]
                  + self.lead_weight * keyword[1::2])
        probabilities = _softmax(scores)
        emergency = float(text_scores[-1] + self.emergency_coef[width:] @ extra + self.emergency_intercept)
        order = np.argsort(-probabilities, kind="stable")
        rounded = np.round(probabilities[order], 4).tolist()
        return Prediction(
            probabilities=tuple(zip([self.categories[i] for i in order], rounded, strict=True)),
            emergency_probability=round(1 / (1 + math.exp(-max(min(emergency, 50.0), -50.0))), 4),
            neighbours=self._neighbours(columns, values),
        )

    def emergency_by_probability(self, prediction: Prediction) -> bool:
        """Whether the emergency probability alone makes ``prediction`` an emergency: at or above the threshold,
        with at least :data:`EMERGENCY_PRONE_MASS` of the category probability on emergency-prone categories
        (a report the classifier sees as noise or ``other`` is not raised on a faint emergency score)."""
        prone = sum(p for c, p in prediction.probabilities if c in self.prone)
        return (prediction.emergency_probability >= self.emergency_threshold
                and (not self.emergency_prone or prone >= EMERGENCY_PRONE_MASS))

    def _neighbours(self, columns: np.ndarray, values: np.ndarray) -> tuple[tuple[str, str, float], ...]:
        """Cosine similarity to every training example, from the feature → examples index (only the columns
        present in the message are read)."""
        if not len(columns) or not self.train_texts:
            return ()
        index = self.neighbours_by_feature
        starts, ends = index.indptr[columns], index.indptr[columns + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return ()
        begins = np.cumsum(lengths) - lengths  # where each row's entries begin among the gathered ones
        offsets = np.repeat(starts - begins, lengths) + np.arange(total)
        similarity = np.bincount(index.indices[offsets], weights=index.data[offsets] * np.repeat(values, lengths),
                                 minlength=len(self.train_texts)) / math.sqrt(2)
        best = _largest(similarity, min(NEIGHBOURS, len(similarity)))
        return tuple((self.train_texts[i], self.train_categories[i], round(float(similarity[i]), 3))
                     for i in best if similarity[i] > 0)


def _largest(values: np.ndarray, count: int) -> list[int]:
    """Indices of the ``count`` largest of the non-negative ``values``, largest first, wherever a zero value is
    dropped by the caller: what ``argpartition(-values, count - 1)[:count]`` then a stable sort by ``-values``
    give.

    The ``count + 1`` largest are picked by ``argmax`` (each picked value hidden, then restored), far cheaper
    than partitioning an array of mostly zeros. When the positive values among the first ``count`` are tied
    with each other or with the next, the partition's own choice decides, so it is asked instead.
    """
    picked: list[int] = []
    found: list[float] = []
    for _ in range(min(count + 1, len(values))):
        index = int(values.argmax())
        picked.append(index)
        found.append(float(values[index]))
        values[index] = -1.0
    values[picked] = found
    positive = sum(value > 0 for value in found[:count])
    if all(found[n] > found[n + 1] for n in range(min(positive, len(found) - 1))):
        return picked[:count]
    best = np.argpartition(-values, count - 1)[:count]
    return [int(i) for i in best[np.argsort(-values[best], kind="stable")]]


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


def _extra_row(keywords: Sequence[Match], categories: Sequence[str] | Mapping[str, int], text: str,
               danger: int) -> np.ndarray:
    """Keyword evidence (whole, lead) per category, then log1p(danger signals)."""
    row = keyword_row(keywords, categories, lead_end(text))
    return np.append(row, math.log1p(danger))


def train(key: str, categories: Sequence[str], examples: Sequence[Example], keywords: KeywordFinder,
          danger: Callable[[str], int], *, extra: Sequence[Example] = (),
          emergency_categories: frozenset[str] = frozenset()) -> RoutingModel:
    """Train on the train split of ``examples`` plus every one of ``extra`` (local corrections), score on the
    held-out split of ``examples``. ``keywords``/``danger`` give the rules' evidence for a text."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # only training needs scikit-learn

    train_part, held = split(examples)
    train_part = [*train_part, *extra]
    if len({e.category for e in train_part}) < 2:
        raise ValueError("training needs examples of at least two categories")
    order = list(categories)
    texts = [e.text for e in train_part]
    char_vec = TfidfVectorizer(analyzer=char_grams, sublinear_tf=True, dtype=np.float64)
    word_vec = TfidfVectorizer(analyzer=word_grams, sublinear_tf=True, dtype=np.float64)
    char_x = char_vec.fit_transform(texts)
    word_x = _fit_words(word_vec, texts)
    extra_rows = np.vstack([_extra_row(keywords(t), order, t, danger(t)) for t in texts])
    x_text = sparse.hstack([char_x, word_x]).tocsr()
    x = sparse.hstack([x_text, sparse.csr_matrix(extra_rows)]).tocsr()
    labels = np.array([order.index(e.category) for e in train_part])
    coef, intercept, keyword_weight, lead_weight, predicted = _fit_categories(
        x_text, labels, len(order), extra_rows[:, :-1])
    urgent_category = np.isin(predicted, [order.index(c) for c in emergency_categories if c in order])
    urgent = np.array([e.emergency for e in train_part])
    emergency_coef, emergency_intercept = np.zeros(x.shape[1]), -30.0
    emergency_threshold = EMERGENCY_THRESHOLD
    if urgent.sum() >= 2 and (~urgent).sum() >= 2:
        text_and_keywords = x.tolil()
        text_and_keywords[:, -1] = 0  # the danger signals decide on their own; this is a second opinion
        emergency_coef, emergency_intercept, emergency_threshold = _fit_binary(
            text_and_keywords.tocsr(), urgent, (extra_rows[:, -1] > 0) | urgent_category)
    text_x = sparse.hstack([char_x, word_x]).tocsc()
    neighbours_index = _without_common(text_x.T.tocsr())
    model = RoutingModel(
        key=key, categories=order,
        char_vocabulary={g: int(i) for g, i in char_vec.vocabulary_.items()}, char_idf=char_vec.idf_,
        word_vocabulary={g: int(i) for g, i in getattr(word_vec, "vocabulary_", {}).items()},
        word_idf=getattr(word_vec, "idf_", np.zeros(0)),
        coef=coef, intercept=intercept, keyword_weight=keyword_weight, lead_weight=lead_weight,
        emergency_coef=emergency_coef, emergency_intercept=emergency_intercept,
        neighbours_by_feature=neighbours_index, train_texts=texts, train_categories=[e.category for e in train_part],
        trained_on=len(train_part), emergency_threshold=emergency_threshold,
        emergency_prone=tuple(c for c in order if any(e.emergency and e.category == c for e in train_part)),
    )
    _score_held_out(model, held, keywords, danger, emergency_categories)
    return model


def _without_common(by_feature: sparse.csr_matrix) -> sparse.csr_matrix:
    """The feature → examples index without the features found in more than :data:`NEIGHBOUR_MAX_DF` of the
    examples (的, `` a``: long posting lists of small TF-IDF weight that cost most of a look-up and hardly
    move the ranking of the closest examples)."""
    frequency = np.diff(by_feature.indptr)
    common = frequency > NEIGHBOUR_MAX_DF * max(by_feature.shape[1], 1)
    kept = sparse.diags((~common).astype(np.float64)) @ by_feature
    kept = sparse.csr_matrix(kept)
    kept.eliminate_zeros()
    return kept


def _folds(labels: np.ndarray) -> int:
    """Cross-validation folds for calibration: 3, fewer when a class is that rare (0: cannot calibrate)."""
    present = np.bincount(labels)
    smallest = int(present[present > 0].min()) if present.any() else 0
    return min(3, smallest) if smallest >= 2 else 0


def _fit_categories(x: sparse.csr_matrix, labels: np.ndarray, size: int,
                    keyword: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray]:
    """A one-vs-rest linear SVM on the text features, stacked with the keyword evidence: on cross-validated
    SVM scores ``s``, fit ``t·s + a·kw + b·kw_lead + d`` (``kw``: log keyword weight per category, in the whole
    message and in its lead; ``d``: an offset per category) by the log loss of its softmax. ``t`` calibrates the
    probabilities; ``a`` and ``b`` say how far to trust the rules' keywords; ``d`` corrects the one-vs-rest
    scores' bias between categories (5-fold CV accuracy on the train split 88.8% -> 89.2%). Returns
    ``(coef·t, intercept·t + d, a, b, cross-validated category of each row)`` (the last is ``labels`` when there
    are too few examples to cross-validate)."""
    from scipy.optimize import minimize
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.svm import LinearSVC

    classes = np.unique(labels)
    svm = LinearSVC(C=_C_SVM, max_iter=_SVM_ITERATIONS, random_state=0).fit(x, labels)
    raw_coef, raw_intercept = svm.coef_, svm.intercept_
    if len(classes) == 2:  # one score: positive for the second class
        raw_coef = np.vstack([-raw_coef[0] / 2, raw_coef[0] / 2])
        raw_intercept = np.array([-raw_intercept[0] / 2, raw_intercept[0] / 2])
    params = np.array([_DEFAULT_TEMPERATURE, _DEFAULT_KEYWORD, 0.0])
    bias = np.zeros(len(classes))
    predicted = labels
    folds = _folds(labels)
    if folds >= 2:
        scores = cross_val_predict(LinearSVC(C=_C_SVM, max_iter=_SVM_ITERATIONS, random_state=0), x, labels,
                                   method="decision_function",
                                   cv=StratifiedKFold(folds, shuffle=True, random_state=0))
        if scores.ndim == 1:
            scores = np.column_stack([-scores / 2, scores / 2])
        truth = np.searchsorted(classes, labels)
        whole, lead = keyword[:, 0::2][:, classes], keyword[:, 1::2][:, classes]
        rows = np.arange(len(truth))

        one_hot = np.zeros_like(scores)
        one_hot[rows, truth] = 1.0

        def stacked(p: np.ndarray) -> np.ndarray:
            return p[0] * scores + p[1] * whole + p[2] * lead + p[3:]

        def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
            """Mean log loss and its gradient (the softmax's ``probabilities - truth`` against each input)."""
            z = stacked(p)
            z -= z.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(z).sum(axis=1))
            error = (np.exp(z - log_norm[:, None]) - one_hot) / len(rows)
            gradient = np.concatenate([[(error * scores).sum(), (error * whole).sum(), (error * lead).sum()],
                                       error.sum(axis=0)])
            return float(-(z[rows, truth] - log_norm).mean()), gradient

        start = np.concatenate([params, np.zeros(len(classes))])
        bounds = [(0.1, 50.0), (0.0, 10.0), (0.0, 10.0)] + [(-5.0, 5.0)] * len(classes)
        fitted = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x
        params, bias = fitted[:3], fitted[3:]
        predicted = classes[np.argmax(stacked(fitted), axis=1)]
    coef = np.zeros((size, x.shape[1]))
    intercept = np.full(size, -50.0)  # a category without examples is never predicted
    coef[classes] = raw_coef * params[0]
    intercept[classes] = raw_intercept * params[0] + bias
    return coef, intercept, float(params[1]), float(params[2]), predicted


def _fit_binary(x: sparse.csr_matrix, truth: np.ndarray, signalled: np.ndarray) -> tuple[np.ndarray, float, float]:
    """A linear SVM for emergency or not, with Platt scaling fitted on cross-validated scores, and the probability
    threshold: the highest at which the cross-validated training emergencies are caught (``signalled``: by a
    danger signal or a cross-validated category whose priority is ``emergency``; else by the probability) at
    least :data:`EMERGENCY_CV_RECALL` of the time (the median over :data:`_EMERGENCY_CV_REPEATS` ways of
    cutting the folds), kept within [:data:`_EMERGENCY_FLOOR`, :data:`EMERGENCY_THRESHOLD`]."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.svm import LinearSVC

    def svm_() -> LinearSVC:
        return LinearSVC(C=_C_EMERGENCY, class_weight="balanced", max_iter=_SVM_ITERATIONS, random_state=0)

    svm = svm_().fit(x, truth)
    folds = min(3, int(truth.sum()), int((~truth).sum()))
    runs = [cross_val_predict(svm_(), x, truth, method="decision_function",
                              cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
            for seed in range(_EMERGENCY_CV_REPEATS)]
    platt = LogisticRegression().fit(np.concatenate(runs).reshape(-1, 1), np.tile(truth, len(runs)))
    a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    allowed = math.floor((1 - EMERGENCY_CV_RECALL) * int(truth.sum()))
    thresholds = []
    for scores in runs:  # one threshold per way of cutting the folds; the median is kept (the tail is noisy)
        unsignalled = np.sort(1 / (1 + np.exp(-(a * scores[truth & ~signalled] + b))))
        thresholds.append(min(EMERGENCY_THRESHOLD, float(unsignalled[allowed]))
                          if len(unsignalled) > allowed else EMERGENCY_THRESHOLD)
    threshold = float(np.median(thresholds))
    return svm.coef_[0] * a, float(svm.intercept_[0] * a + b), round(max(threshold, _EMERGENCY_FLOOR), 4)


def _fit_words(vectorizer: Any, texts: list[str]) -> sparse.csr_matrix:
    """Stem features, or an empty block when no example has an English word."""
    try:
        return vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary
        return sparse.csr_matrix((len(texts), 0))


def _score_held_out(model: RoutingModel, held: Sequence[Example], keywords: KeywordFinder,
                    danger: Callable[[str], int], emergency_categories: frozenset[str]) -> None:
    """Set the confidence threshold and the held-out scores from the held-out examples."""
    outcomes: list[tuple[float, bool]] = []
    emergencies = caught = 0
    for example in held:
        found = keywords(example.text)
        signals = danger(example.text)
        prediction = model.predict(example.text, found, signals)
        best, confidence = prediction.probabilities[0]
        outcomes.append((confidence, best == example.category))
        if example.emergency:
            emergencies += 1
            caught += bool(signals or model.emergency_by_probability(prediction) or best in emergency_categories)
    model.threshold = choose_threshold(outcomes)
    correct = sum(ok for _, ok in outcomes)
    model.held_out = {
        "examples": len(held),
        "accuracy": round(correct / len(held), 4) if held else None,
        "emergencies": emergencies,
        "emergency_recall": round(caught / emergencies, 4) if emergencies else None,
        "threshold": model.threshold,
    }


def choose_threshold(outcomes: Sequence[tuple[float, bool]], max_wrong: float = MAX_WRONG) -> float:
    """The lowest confidence at which the decisions at or above it are wrong less than ``max_wrong`` of the time
    (:data:`DEFAULT_THRESHOLD` when there is nothing to measure on)."""
    if not outcomes:
        return DEFAULT_THRESHOLD
    ranked = sorted(outcomes, key=lambda o: -o[0])
    best = 1.0
    wrong = 0
    for count, (confidence, ok) in enumerate(ranked, 1):
        wrong += not ok
        tie_follows = count < len(ranked) and ranked[count][0] == confidence
        if not tie_follows and wrong / count < max_wrong:
            best = confidence
    return round(min(max(best, 0.2), 0.99), 4)
