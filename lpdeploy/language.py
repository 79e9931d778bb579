"""Language matching between what a centre needs and what a bundle offers.

Every langcodes call in lpdeploy goes through here, under one lock: langcodes keeps one shared
object per tag and fills its caches in steps without a lock, so a second thread (verify checks
16 centres at once) can read a half-built list of broader tags and fail with "Couldn't fill in
likely values".
"""

from __future__ import annotations

import threading
from functools import lru_cache

import langcodes

CLOSE_ENOUGH = 10
"""langcodes distance below which a learner can use the content (en-GB for en, pt for pt-BR)."""

_LANGCODES = threading.Lock()


@lru_cache(maxsize=65536)
def language_matches(wanted: str, offered: str) -> bool:
    with _LANGCODES:
        return bool(langcodes.tag_distance(wanted, offered) < CLOSE_ENOUGH)


def language_name(tag: str) -> str:
    with _LANGCODES:
        return str(langcodes.Language.get(tag).display_name())


def language_autonym(tag: str) -> str:
    with _LANGCODES:
        return str(langcodes.Language.get(tag).autonym())


def language_valid(tag: str) -> bool:
    with _LANGCODES:
        return bool(langcodes.tag_is_valid(tag))
