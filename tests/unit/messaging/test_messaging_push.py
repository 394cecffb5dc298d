"""The Web Push adapter's own rules, without a push service: private endpoints, payload limit, keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from omnikanal.messaging.channels.push import (
    PushChannel,
    PushConfig,
    Subscription,
    b64url,
    load_vapid_key,
    public_key_b64,
)
from omnikanal.messaging.model import Outgoing, PermanentFailure


def _channel(allow_private: bool, limit: int = 3800) -> tuple[PushChannel, list[tuple[str, str]]]:
    expired: list[tuple[str, str]] = []
    config = PushConfig("mailto:push@example.org", 60, 5.0, limit, allow_private)
    key = ec.generate_private_key(ec.SECP256R1())
    return PushChannel(key, config, lambda ids: {}, lambda sid, why: expired.append((sid, why))), expired


def _item(text: str = "Hallo") -> Outgoing:
    return Outgoing("msg_1", "prof_1", "push", "psub_1", "Titel", text, None, marketing=True)


def test_an_endpoint_on_a_loopback_address_is_refused_unless_allowed() -> None:
    channel, _ = _channel(allow_private=False)
    sub = Subscription(
        "psub_1", "http://127.0.0.1:9/push/x", b64url(b"\x04" + b"\x01" * 64), b64url(b"\x00" * 16)
    )
    with pytest.raises(PermanentFailure, match="push_private_address"):
        channel.send(_item(), [sub])
    channel.close()


def test_a_payload_over_the_limit_fails_for_good_and_no_subscription_means_unreachable() -> None:
    channel, _ = _channel(allow_private=True, limit=100)
    with pytest.raises(PermanentFailure, match="more than the limit of 100"):
        channel.payload(_item("x" * 200))
    with pytest.raises(PermanentFailure, match="no active push subscription"):
        channel.send(_item(), [])
    channel.close()


def test_keys_a_browser_never_made_expire_the_subscription() -> None:
    channel, expired = _channel(allow_private=True)
    sub = Subscription(
        "psub_9", "http://127.0.0.1:9/push/x", b64url(b"\x04" + b"\x00" * 64), b64url(b"\x00" * 16)
    )
    with pytest.raises(PermanentFailure, match="not usable"):
        channel.send(_item(), [sub])
    assert expired == [("psub_9", "invalid_keys")]
    channel.close()


def test_a_configured_raw_key_and_its_pem_file_give_the_same_public_key(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    assert public_key_b64(load_vapid_key(raw, tmp_path)) == public_key_b64(key)
    generated = load_vapid_key("", tmp_path)
    assert (tmp_path / "vapid_private.pem").stat().st_mode & 0o777 == 0o600
    assert public_key_b64(load_vapid_key("", tmp_path)) == public_key_b64(generated)
