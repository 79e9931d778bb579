"""Language matching between what a centre needs and what a bundle offers."""

from __future__ import annotations

from functools import lru_cache

import langcodes

CLOSE_ENOUGH = 10
"""langcodes distance below which a learner can use the content (en-GB for en, pt for pt-BR)."""


@lru_cache(maxsize=65536)
def language_matches(wanted: str, offered: str) -> bool:
    return bool(langcodes.tag_distance(wanted, offered) < CLOSE_ENOUGH)


def language_name(tag: str) -> str:
    return str(langcodes.Language.get(tag).display_name())
