from __future__ import annotations

import pytest

from lpdeploy.errors import InputError
from lpdeploy.rates import parse_rate, rsync_kib, show_rate


@pytest.mark.parametrize(
    ("text", "bits"),
    [("4mbit", 4_000_000), ("512kbit", 512_000), ("1.5Mbit", 1_500_000), ("1gbit", 10**9),
     (" 8 kbit ", 8000)],
)  # fmt: skip
def test_rates_are_read_as_tc_writes_them(text: str, bits: int) -> None:
    assert parse_rate(text, "--rate") == bits
    assert parse_rate(show_rate(bits), "--rate") == bits


@pytest.mark.parametrize("text", ["4mb", "fast", "-1mbit", "mbit", "4 mbit/s", "7kbit", "0bit"])
def test_anything_else_is_an_input_error_naming_the_option(text: str) -> None:
    with pytest.raises(InputError, match="--bwlimit"):
        parse_rate(text, "--bwlimit")


def test_rsync_takes_kib_a_second_and_never_zero() -> None:
    assert rsync_kib(8_000_000) == 976
    assert rsync_kib(8000) == 1
