"""Name rules: DNS-1123 labels and subdomains, label keys and values, ports, env, keys."""

from __future__ import annotations

import pytest

from gitkube.api import names

LABELS = [("a", True), ("my-name", True), ("123-abc", True), ("a" * 63, True),
          ("a" * 64, False), ("My-Name", False), ("-a", False), ("a-", False), ("a.b", False),
          ("", False), ("a_b", False)]


@pytest.mark.parametrize(("value", "ok"), LABELS, ids=[repr(v) for v, _ in LABELS])
def test_dns1123_label(value: str, ok: bool) -> None:
    assert (names.dns1123_label_errors(value) == []) is ok


def test_dns1123_label_messages_say_why() -> None:
    assert names.dns1123_label_errors("a" * 64) == ["must be no more than 63 characters"]
    [message] = names.dns1123_label_errors("My_Name")
    assert message.startswith("a lowercase RFC 1123 label must consist of lower case")


SUBDOMAINS = [("example.com", True), ("a", True), ("a.b-c.d", True), ("a" * 253, True),
              ("a" * 254, False), ("a..b", False), (".a", False), ("a.", False),
              ("Example.com", False), ("a_b", False)]


@pytest.mark.parametrize(("value", "ok"), SUBDOMAINS, ids=[repr(v)[:30] for v, _ in SUBDOMAINS])
def test_dns1123_subdomain(value: str, ok: bool) -> None:
    assert (names.dns1123_subdomain_errors(value) == []) is ok


KEYS = [("app", True), ("app.kubernetes.io/name", True), ("MyName", True), ("my.name", True),
        ("a/b/c", False), ("/name", False), ("example.com/", False), ("Example.COM/x", False),
        ("-app", False), ("a" * 64, False), ("x/" + "a" * 63, True), ("", False)]


@pytest.mark.parametrize(("value", "ok"), KEYS, ids=[repr(v)[:30] for v, _ in KEYS])
def test_label_keys_are_qualified_names(value: str, ok: bool) -> None:
    assert (names.qualified_name_errors(value) == []) is ok


def test_label_key_prefix_problems_name_the_prefix() -> None:
    [message] = names.qualified_name_errors("Example.COM/x")
    assert message.startswith("prefix part a lowercase RFC 1123 subdomain")


VALUES = [("", True), ("MyValue", True), ("my_value", True), ("12345", True), ("a" * 63, True),
          ("a" * 64, False), ("-x", False), ("x y", False), ("a/b", False)]


@pytest.mark.parametrize(("value", "ok"), VALUES, ids=[repr(v)[:30] for v, _ in VALUES])
def test_label_values(value: str, ok: bool) -> None:
    assert (names.label_value_errors(value) == []) is ok


PORTS = [("http", True), ("web-80", True), ("a" * 15, True), ("a" * 16, False), ("80", False),
         ("web--x", False), ("-web", False), ("Web", False)]


@pytest.mark.parametrize(("value", "ok"), PORTS, ids=[repr(v) for v, _ in PORTS])
def test_port_names_are_iana_service_names(value: str, ok: bool) -> None:
    assert (names.port_name_errors(value) == []) is ok


ENV = [("HOME", True), ("my.env-name", True), ("_X", True), ("1X", False), ("A B", False),
       ("", False)]


@pytest.mark.parametrize(("value", "ok"), ENV, ids=[repr(v) for v, _ in ENV])
def test_env_var_names(value: str, ok: bool) -> None:
    assert (names.env_var_name_errors(value) == []) is ok


CONFIG_KEYS = [("game.properties", True), (".secret-file", True), ("KEY_NAME", True),
               ("a/b", False), (".", False), ("..", False), ("..data", False), ("", False),
               ("a" * 254, False)]


@pytest.mark.parametrize(("value", "ok"), CONFIG_KEYS, ids=[repr(v)[:30] for v, _ in CONFIG_KEYS])
def test_config_map_keys(value: str, ok: bool) -> None:
    assert (names.config_map_key_errors(value) == []) is ok
