"""Comment classifier (clean / spam / offensive / hate) and its model registry.

    from models.classifier import load_active, Classifier
    clf = load_active()                      # active model, re-checked every few seconds
    clf.predict_proba(["Vay tiền nhanh, ib zalo 0912 345 678"])
    clf.explain("dm thằng này ngu vl")

See ``DATA.md`` for the shipped model's sources and how to rebuild it.
"""

from models.classifier.model import Classifier
from models.classifier.registry import (
    DEFAULT_VERSION,
    Registry,
    default_model_dir,
    default_registry_root,
    load_active,
)

__all__ = ["Classifier", "Registry", "load_active", "default_model_dir",
           "default_registry_root", "DEFAULT_VERSION"]
