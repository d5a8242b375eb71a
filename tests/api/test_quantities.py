"""Quantities parse as Kubernetes parses them (cases from apimachinery's quantity tests)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitkube.api import quantities

VALUES = [
    ("0", "0"), ("0n", "0"), ("0m", "0"), ("0Ki", "0"), ("0k", "0"), ("0Mi", "0"),
    ("500m", "0.5"), ("0.5", "0.5"), (".5", "0.5"), ("5.", "5"), ("1.", "1"),
    ("128Mi", "134217728"), ("1G", "1000000000"), ("1e3", "1000"), ("1E3", "1000"),
    ("2Ki", "2048"), ("1.5Gi", "1610612736"), ("1Ki", "1024"), ("8Mi", "8388608"),
    ("12M", "12000000"), ("1E", "1000000000000000000"), ("1Ei", str(2**60)),
    ("5e-3", "0.005"), ("1E-3", "0.001"), ("100m", "0.1"), ("1n", "0.000000001"),
    ("1u", "0.000001"), ("+1", "1"), ("-1", "-1"), ("-1.5Ki", "-1536"),
    ("1234567890123456789", "1234567890123456789"), ("129e6", "129000000"),
    # Kubernetes rounds away from zero to the nanounit.
    ("1e-12", "0.000000001"), ("-1e-12", "-0.000000001"), ("0.0000000001", "0.000000001"),
    (2, "2"), (0.5, "0.5"), (1e3, "1000"), (1.5e-5, "0.000015"),
]


@pytest.mark.parametrize(("text", "expected"), VALUES, ids=[str(t) for t, _ in VALUES])
def test_parse_quantity(text: str | int | float, expected: str) -> None:
    assert quantities.parse_quantity(text) == Decimal(expected)


CPU = [("500m", 500), ("0.5", 500), ("1", 1000), (2, 2000), ("0.1m", 1), ("1.0001m", 2),
       ("1n", 1), ("100m", 100), ("1e3", 1_000_000), ("0.25", 250)]


@pytest.mark.parametrize(("text", "millis"), CPU, ids=[str(t) for t, _ in CPU])
def test_cpu_millis_rounds_up_like_milli_value(text: str, millis: int) -> None:
    assert quantities.cpu_millis(text) == millis


MEMORY = [("128Mi", 134217728), ("1G", 1_000_000_000), ("129e6", 129_000_000),
          ("123Mi", 128974848), ("1.5Gi", 1610612736), ("0.5", 1), ("1m", 1), (64, 64),
          ("2Ki", 2048)]


@pytest.mark.parametrize(("text", "count"), MEMORY, ids=[str(t) for t, _ in MEMORY])
def test_memory_bytes_rounds_up_like_value(text: str, count: int) -> None:
    assert quantities.memory_bytes(text) == count


BAD = ["12Q", "", " 1", "1 ", "1 Gi", "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i",
       "1i", "-3.01i", "-3.01e-", "E", "Mi", "1Mib", "1e", "1.2.3", "e3", "1Mi1", "1KI",
       "1K", ".", "-", "0x10"]


@pytest.mark.parametrize("text", BAD, ids=[repr(t) for t in BAD])
def test_invalid_quantities_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        quantities.parse_quantity(text)
    assert str(caught.value) == (
        f"{text!r} is not a Kubernetes quantity "
        "(expected a number with an optional suffix such as 500m, 128Mi, 1G)"
    )


@pytest.mark.parametrize("value", [True, None, float("nan"), float("inf"), [1]],
                         ids=["bool", "null", "nan", "inf", "list"])
def test_non_numbers_from_yaml_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="is not a Kubernetes quantity"):
        quantities.quantity_text(value)


def test_quantity_text_keeps_the_written_form() -> None:
    assert quantities.quantity_text("500m") == "500m"
    assert quantities.quantity_text(2) == "2"
    assert quantities.quantity_text(0.5) == "0.5"


@pytest.mark.parametrize(("millis", "text"), [(2000, "2"), (1500, "1500m"), (0, "0")])
def test_format_millis(millis: int, text: str) -> None:
    assert quantities.format_millis(millis) == text
    assert quantities.cpu_millis(text) == millis


@pytest.mark.parametrize(("count", "text"),
                         [(134217728, "128Mi"), (1000, "1000"), (2**30 * 3, "3Gi"), (0, "0")])
def test_format_bytes(count: int, text: str) -> None:
    assert quantities.format_bytes(count) == text
    assert quantities.memory_bytes(text) == count


@given(st.integers(min_value=0, max_value=10**15))
def test_formatted_cpu_parses_back(millis: int) -> None:
    assert quantities.cpu_millis(quantities.format_millis(millis)) == millis


@given(st.integers(min_value=0, max_value=2**62))
def test_formatted_memory_parses_back(count: int) -> None:
    assert quantities.memory_bytes(quantities.format_bytes(count)) == count
