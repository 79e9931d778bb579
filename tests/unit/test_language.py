"""Language matching from many threads at once (verify renders each centre's page in its own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import langcodes
import pytest

from lpdeploy import language

TAGS = ["uk-UA", "sw-TZ", "ps-AF", "so-SO", "ti-ER", "rhg-MM"]


@pytest.fixture
def slow_langcodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh langcodes whose caches take a millisecond per step to fill, so that a thread
    which reads one half-filled is all but certain to be seen."""
    filter_attributes = langcodes.Language._filter_attributes

    def slow(self: langcodes.Language, keyset: object) -> langcodes.Language:
        time.sleep(0.001)
        return filter_attributes(self, keyset)  # type: ignore[arg-type]

    monkeypatch.setattr(langcodes.Language, "_filter_attributes", slow)
    monkeypatch.setattr(langcodes.Language, "_INSTANCES", {})
    language.language_matches.cache_clear()
    yield
    language.language_matches.cache_clear()


def at_once(work: Callable[[], object], threads: int = 8) -> list[BaseException]:
    gate = threading.Barrier(threads)
    failed: list[BaseException] = []

    def run() -> None:
        gate.wait()
        try:
            work()
        except Exception as exc:
            failed.append(exc)

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return failed


@pytest.mark.usefixtures("slow_langcodes")
def test_languages_are_matched_and_named_from_many_threads_at_once() -> None:
    def work() -> None:
        for tag in TAGS:
            language.language_matches(tag, "en")
            language.language_name(tag)
            language.language_autonym(tag)
            language.language_valid(tag)

    assert at_once(work) == []
    assert language.language_matches("uk-UA", "uk")
    assert not language.language_matches("uk-UA", "ru")
    assert language.language_name("sw-TZ") == "Swahili (Tanzania)"
