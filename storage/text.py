"""Text folding for search: case- and accent-insensitive in every script."""

from __future__ import annotations

import unicodedata


def fold_text(text: str) -> str:
    """Lower-case, strip accents (é -> e, ọ -> o) and collapse white space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())
