"""Notification channels: each kind checks its target and becomes the Apprise URL the notifier sends to."""

from __future__ import annotations

import apprise
import pytest

from answer_ninja.services.user_management.notification_channels import (
    Channel,
    ChannelError,
    apprise_url,
    check,
    target_host,
)

SMTP = "mailto://example.com?smtp=127.0.0.1&port=2525&from=ninja@example.com"


@pytest.mark.parametrize(
    ("kind", "target", "expected"),
    [
        ("ntfy", "https://ntfy.sh/my-topic", "ntfys://ntfy.sh/my-topic"),
        ("ntfy", "http://127.0.0.1:8080/t", "ntfy://127.0.0.1:8080/t"),
        ("webhook", "https://hooks.example.com/a?b=1", "jsons://hooks.example.com/a?b=1"),
        ("wecom", "abcdef0123456789", "wecombot://abcdef0123456789"),
        ("dingtalk", "abcdef0123456789abcdef", "dingtalk://abcdef0123456789abcdef/"),
        ("telegram", "123456789:AAbbCCddEEffGGhhIIjjKKll/987654", "tgram://123456789:AAbbCCddEEffGGhhIIjjKKll/987654"),
    ],
)
def test_each_kind_becomes_a_url_apprise_accepts(kind: str, target: str, expected: str) -> None:
    channel = Channel(kind=kind, target=target)  # type: ignore[arg-type]
    check(channel, account_email="me@example.com")
    url = apprise_url(channel, account_email="me@example.com", email_server_url=SMTP)
    assert url == expected
    assert apprise.Apprise().add(url)


def test_email_goes_to_the_account_address_through_the_configured_server() -> None:
    channel = Channel(kind="email")
    url = apprise_url(channel, account_email="me@example.com", email_server_url=SMTP)
    assert url == SMTP + "&to=me@example.com"
    assert apprise.Apprise().add(url)
    assert apprise_url(channel, account_email="me@example.com", email_server_url=None) is None


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("email", "not an address"),
        ("ntfy", "ftp://example.com/x"),
        ("webhook", "javascript:alert(1)"),
        ("wecom", "key with spaces"),
        ("dingtalk", "short"),
        ("telegram", "no-slash"),
    ],
)
def test_bad_targets_are_refused_with_what_is_expected(kind: str, target: str) -> None:
    with pytest.raises(ChannelError):
        check(Channel(kind=kind, target=target), account_email="me@example.com")  # type: ignore[arg-type]


def test_disabled_channels_send_nothing_and_hosts_are_known_for_the_private_check() -> None:
    channel = Channel(kind="webhook", target="https://10.0.0.5/hook", enabled=False)
    assert apprise_url(channel, account_email="", email_server_url=None) is None
    assert target_host(channel) == "10.0.0.5"
    assert target_host(Channel(kind="wecom", target="abcdefgh12")) is None
