"""The base recipe (``base_recipe.json``): the data files the shipped default model was
trained on — columns, label maps, weights — and the files that evaluate it, so that
retraining starts from the same rows as ``vimod model train`` did (DATA.md).

Files marked ``"in": "base"`` are the public datasets, which vimod does not ship; they are
read from ``VIMOD_BASE_DATA`` (default: ``../shared/data/comments`` next to the
repository). ``"in": "package"`` files ship in ``models/classifier/``. A missing file is
listed in :attr:`Recipe.missing`, not an error: retraining then runs on what is there.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from models.classifier.datasets import Dataset, DataSpec, text_key

__all__ = ["DEVELOPMENT_SET", "RECIPE_PATH", "Recipe", "base_data_dir",
           "development_set_keys", "drop_development_set", "load_recipe"]

RECIPE_PATH = Path(__file__).with_name("base_recipe.json")
_PACKAGE_DIR = Path(__file__).resolve().parent
# vimod's own news-comment development set (eval/README.md): measured on, never trained on.
DEVELOPMENT_SET = _PACKAGE_DIR / "eval" / "news_dev.csv"


@lru_cache(maxsize=1)
def development_set_keys() -> frozenset[str]:
    """The development set's texts (``text_key`` form): every training path drops them."""
    if not DEVELOPMENT_SET.is_file():
        return frozenset()
    with open(DEVELOPMENT_SET, encoding="utf-8", newline="") as fh:
        return frozenset(text_key(r["text"]) for r in csv.DictReader(fh) if r.get("text"))


def drop_development_set(ds: Dataset) -> int:
    """Removes the development set's texts from ``ds`` in place; returns how many."""
    dev = development_set_keys()
    keep = [i for i, t in enumerate(ds.texts) if text_key(t) not in dev]
    dropped = len(ds.texts) - len(keep)
    if dropped:
        ds.texts = [ds.texts[i] for i in keep]
        ds.labels = [ds.labels[i] for i in keep]
        ds.weights = [ds.weights[i] for i in keep]
        ds.sources = [ds.sources[i] for i in keep]
    return dropped


def base_data_dir() -> Path:
    """``VIMOD_BASE_DATA``, else ``../shared/data/comments`` relative to the repository."""
    env = os.environ.get("VIMOD_BASE_DATA")
    if env:
        return Path(env)
    return _PACKAGE_DIR.parents[1].parent / "shared" / "data" / "comments"


@dataclass
class Recipe:
    name: str
    version: int
    data_dir: Path
    train: list[DataSpec] = field(default_factory=list)    # files present, in order
    eval: list[DataSpec] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)       # "base" files not found
    params: dict = field(default_factory=dict)             # TrainParams overrides

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "data_dir": str(self.data_dir),
                "train": [s.describe() for s in self.train],
                "eval": [s.describe() for s in self.eval], "missing": list(self.missing)}


def _spec(entry: dict, data_dir: Path) -> tuple[DataSpec, bool]:
    where = entry.get("in", "base")
    if where not in ("base", "package"):
        raise ValueError(f"recipe entry {entry.get('path')!r}: 'in' must be base or package")
    root = data_dir if where == "base" else _PACKAGE_DIR
    path = root / entry["path"]
    spec = DataSpec(path=str(path), text_column=entry.get("text_column", "text"),
                    label_column=entry.get("label_column", "label"),
                    label_map=entry.get("label_map"), weight=float(entry.get("weight", 1.0)))
    return spec, path.is_file()


def load_recipe(path: str | os.PathLike | None = None,
                data_dir: str | os.PathLike | None = None) -> Recipe:
    """The recipe at ``path`` (default: the shipped one) with its files located."""
    raw = json.loads(Path(path or RECIPE_PATH).read_text("utf-8"))
    root = Path(data_dir) if data_dir is not None else base_data_dir()
    recipe = Recipe(name=str(raw.get("name", "base")), version=int(raw.get("version", 1)),
                    data_dir=root, params=dict(raw.get("params") or {}))
    for key, target in (("train", recipe.train), ("eval", recipe.eval)):
        for entry in raw.get(key, []):
            spec, present = _spec(entry, root)
            if present:
                target.append(spec)
            else:
                recipe.missing.append(spec.path)
    return recipe
