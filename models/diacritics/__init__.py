"""Vietnamese diacritics: check (is a comment typed without marks?) and restoration."""

from models.diacritics.checker import DiacriticsReport, check, check_many
from models.diacritics.restorer import get_model, restore

__all__ = ["DiacriticsReport", "check", "check_many", "restore", "get_model"]
