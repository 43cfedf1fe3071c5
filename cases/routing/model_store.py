"""Trained routing models on disk, keyed by content hash, and which one is in use.

A model's key is the SHA-256 of :data:`CODE_VERSION` and the routing modules' source, the rules' categories
with their keywords and priorities (an ``emergency`` category shapes the emergency threshold), the danger
signals and every example it learns from: change any of them and a new model is trained (in seconds) on first
use; otherwise the pickled one is loaded. ``active.json`` remembers, per bundled key, the model in use — after a
retrain with local examples it is that model, as long as it scored no worse on the held-out split. The cache
folder is ``GRIDBOT_CACHE_DIR``, else ``$XDG_CACHE_HOME/gridbot``, else ``~/.cache/gridbot``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cases.routing.examples import Example, read_examples
from cases.routing.keywords import Match
from cases.routing.model import RoutingModel, train
from cases.routing.router import RoutingIndex, keyword_evidence
from cases.rules.schema import Rules
from cases.textnorm import normalize_mapped

__all__ = ["CODE_VERSION", "ModelStore", "RetrainResult", "bundled_examples", "cache_dir", "current_model",
           "model_key", "retrain", "retrain_if_changed", "train_for"]

log = logging.getLogger(__name__)
CODE_VERSION = "routing-model-7"
_CODE_FILES = ("model.py", "features.py", "keywords.py", "urgency.py", "router.py")


def _code_digest() -> bytes:
    """The source of the modules a model's behaviour depends on (so a code change retrains)."""
    digest = hashlib.sha256(CODE_VERSION.encode())
    for name in _CODE_FILES:
        try:
            digest.update((Path(__file__).parent / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return digest.digest()


_CODE = _code_digest()


def cache_dir() -> Path:
    """Where trained models are kept."""
    if os.environ.get("GRIDBOT_CACHE_DIR"):
        return Path(os.environ["GRIDBOT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gridbot"


def bundled_examples(rules: Rules) -> list[Example]:
    """The examples the rules file points to (none when it names no examples)."""
    path = rules.examples_path()
    return read_examples(path, rules.categories) if path is not None else []


def model_key(rules: Rules, examples: Sequence[Example], extra: Sequence[Example] = ()) -> str:
    """Content hash of everything a model depends on."""
    digest = hashlib.sha256(_CODE)
    for category_id, category in rules.categories.items():
        digest.update(json.dumps([category_id, category.keywords, category.priority], ensure_ascii=False).encode())
    digest.update(json.dumps(rules.danger_signals.words, ensure_ascii=False).encode())
    for tag, group in (("b", examples), ("l", extra)):
        for e in group:
            digest.update(f"{tag}\t{e.category}\t{e.emergency}\t{e.text}\n".encode())
    return digest.hexdigest()


def train_for(rules: Rules, examples: Sequence[Example], extra: Sequence[Example] = ()) -> RoutingModel:
    """Train a model for ``rules`` (its keyword and danger evidence feed the classifier)."""
    index = RoutingIndex.for_rules(rules)

    def keywords(text: str) -> list[Match]:
        return keyword_evidence(index, normalize_mapped(text))[0]

    def danger(text: str) -> int:
        return len(index.danger.find(normalize_mapped(text)))

    urgent = frozenset(c for c, category in rules.categories.items() if category.priority == "emergency")
    return train(model_key(rules, examples, extra), list(rules.categories), examples, keywords, danger,
                 extra=extra, emergency_categories=urgent)


class ModelStore:
    """Pickled models in a folder, plus the ``active.json`` pointer."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = (directory or cache_dir()) / "routing"

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.pkl"

    def load(self, key: str) -> RoutingModel | None:
        """The model stored under ``key``; None when absent or unreadable (it is then retrained)."""
        try:
            with self._path(key).open("rb") as handle:
                model = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
            return None
        return model if isinstance(model, RoutingModel) and model.key == key else None

    def save(self, model: RoutingModel) -> None:
        """Store ``model`` atomically (a failure to write only costs a retrain next time)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, delete=False, suffix=".tmp") as handle:
                pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(handle.name, self._path(model.key))
        except OSError as exc:
            log.warning("routing model not cached in %s: %s", self.directory, exc.strerror)

    def _pointers(self) -> dict[str, str]:
        try:
            data = json.loads((self.directory / "active.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def active(self, base: str) -> str | None:
        """The key of the model in use for bundled key ``base``."""
        value = self._pointers().get(base)
        return value if isinstance(value, str) else None

    def set_active(self, base: str, key: str) -> None:
        """Use model ``key`` for bundled key ``base`` from now on."""
        pointers = self._pointers()
        pointers[base] = key
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / "active.json.tmp"
            tmp.write_text(json.dumps(pointers, indent=1), encoding="utf-8")
            os.replace(tmp, self.directory / "active.json")
        except OSError as exc:
            log.warning("routing model choice not saved in %s: %s", self.directory, exc.strerror)


_MEMORY: dict[str, RoutingModel] = {}


def current_model(rules: Rules, store: ModelStore | None = None) -> RoutingModel | None:
    """The model in use for ``rules``: the active one, else one trained now on the bundled examples.

    None when the rules name no examples (routing then uses keywords alone). Kept in memory per key, so a
    process trains or loads it once.
    """
    examples = bundled_examples(rules)
    if len({e.category for e in examples}) < 2:
        return None
    store = store or ModelStore()
    base = model_key(rules, examples)
    key = store.active(base) or base
    model = _MEMORY.get(key) or store.load(key)
    if model is None and key != base:
        log.warning("routing model %s is missing; using the one trained on the bundled examples", key[:12])
        key = base
        model = _MEMORY.get(key) or store.load(key)
    if model is None:
        model = train_for(rules, examples)
        store.save(model)
        log.info("routing model trained on %d examples (held-out accuracy %s)", model.trained_on,
                 model.held_out.get("accuracy"))
    _MEMORY[key] = model
    return model


@dataclass(frozen=True)
class RetrainResult:
    """What a retrain did: the candidate's scores against the current model's, and whether it is now used."""

    switched: bool
    reason: str
    current: dict[str, object]
    candidate: dict[str, object]
    model: RoutingModel


def _worse(candidate: dict[str, object], current: dict[str, object]) -> str | None:
    for name in ("emergency_recall", "accuracy"):
        new, old = candidate.get(name), current.get(name)
        if isinstance(new, float) and isinstance(old, float) and new < old:
            return f"held-out {name.replace('_', ' ')} would drop from {old:.2%} to {new:.2%}"
    return None


def retrain_if_changed(rules: Rules, local: Sequence[Example], store: ModelStore | None = None) -> RetrainResult | None:
    """:func:`retrain` when ``local`` differs from what the model in use learned from; None otherwise."""
    store = store or ModelStore()
    examples = bundled_examples(rules)
    base = model_key(rules, examples)
    if model_key(rules, examples, local) == (store.active(base) or base):
        return None
    return retrain(rules, local, store)


def retrain(rules: Rules, local: Sequence[Example], store: ModelStore | None = None) -> RetrainResult:
    """Train on the bundled plus ``local`` examples; switch to it unless it scores worse on the held-out split."""
    store = store or ModelStore()
    examples = bundled_examples(rules)
    if len({e.category for e in [*examples, *local]}) < 2:
        raise ValueError("no labelled examples to train on (set 'examples:' in the rules file)")
    base = model_key(rules, examples)
    current = current_model(rules, store)
    candidate = train_for(rules, examples, local)
    store.save(candidate)
    _MEMORY[candidate.key] = candidate
    old = current.held_out if current is not None else {}
    why = _worse(candidate.held_out, old)
    if why is not None:
        log.warning("retrained routing model not used: %s", why)
        return RetrainResult(False, why, old, candidate.held_out, candidate)
    store.set_active(base, candidate.key)
    reason = f"trained on {candidate.trained_on} examples ({len(local)} local); held-out scores no worse"
    log.info("retrained routing model in use: %s", reason)
    return RetrainResult(True, reason, old, candidate.held_out, candidate)
