"""Signing and verifying command records: any changed byte, key or header is caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sync_service.command_signing import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    CommandSigner,
    CommandVerifier,
    SigningKey,
    Unverified,
)
from sync_service.settings import Settings
from tests.command_signing import new_signing_key

CURRENT = SigningKey.from_text(new_signing_key())
PREVIOUS = SigningKey.from_text(new_signing_key())
VERIFIER = CommandVerifier([CURRENT, PREVIOUS])
SIGNER = CommandSigner(CURRENT)

values = st.binary(min_size=1, max_size=512)
keys = st.none() | st.binary(max_size=64)


@given(key=keys, value=values)
def test_what_the_signer_signs_verifies(key: bytes | None, value: bytes) -> None:
    assert VERIFIER.refusal(key, value, SIGNER.record_headers(key, value)) is None


@given(key=keys, value=values, data=st.data())
def test_changing_any_byte_of_the_value_breaks_the_signature(
    key: bytes | None, value: bytes, data: st.DataObject
) -> None:
    headers = SIGNER.record_headers(key, value)
    at = data.draw(st.integers(0, len(value) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = value[:at] + bytes([value[at] ^ flip]) + value[at + 1 :]
    assert VERIFIER.refusal(key, changed, headers) is Unverified.BAD_SIGNATURE


@given(key=st.binary(min_size=1, max_size=64), value=values, data=st.data())
def test_changing_the_record_key_or_moving_bytes_across_it_breaks_the_signature(
    key: bytes, value: bytes, data: st.DataObject
) -> None:
    headers = SIGNER.record_headers(key, value)
    other = data.draw(st.binary(max_size=64).filter(lambda other: other != key))
    assert VERIFIER.refusal(other, value, headers) is Unverified.BAD_SIGNATURE
    # The same bytes, split differently between key and value.
    assert VERIFIER.refusal(key[:-1], key[-1:] + value, headers) is Unverified.BAD_SIGNATURE


@given(value=values, data=st.data())
def test_changing_any_byte_of_the_signature_breaks_it(value: bytes, data: st.DataObject) -> None:
    headers = dict(SIGNER.record_headers(b"k", value))
    signature = headers[SIGNATURE_HEADER]
    at = data.draw(st.integers(0, len(signature) - 1))
    replacement = data.draw(st.sampled_from(b"0123456789abcdefABCDEF\x00 "))
    if signature[at] == replacement:
        return
    forged = signature[:at] + bytes([replacement]) + signature[at + 1 :]
    headers[SIGNATURE_HEADER] = forged
    assert VERIFIER.refusal(b"k", value, list(headers.items())) is Unverified.BAD_SIGNATURE


def test_a_previous_key_verifies_but_an_unknown_one_does_not() -> None:
    value = b'{"type": "InviteContact"}'
    by_previous = CommandSigner(PREVIOUS).record_headers(b"k", value)
    assert VERIFIER.refusal(b"k", value, by_previous) is None
    attackers = CommandSigner(SigningKey.from_text(new_signing_key()))
    assert VERIFIER.refusal(b"k", value, attackers.record_headers(b"k", value)) is (
        Unverified.UNKNOWN_KEY
    )


def test_a_known_key_id_with_another_keys_mac_is_a_bad_signature() -> None:
    value = b"{}"
    forged = SigningKey(secret=b"x" * 43, key_id=CURRENT.key_id)  # claims the current id
    headers = CommandSigner(forged).record_headers(None, value)
    assert VERIFIER.refusal(None, value, headers) is Unverified.BAD_SIGNATURE


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(KEY_ID_HEADER, CURRENT.key_id.encode())],
        [(SIGNATURE_HEADER, CURRENT.mac(None, b"{}").encode())],
    ],
    ids=["none", "key id only", "signature only"],
)
def test_a_record_without_key_id_and_signature_is_unsigned(
    headers: list[tuple[str, bytes]],
) -> None:
    assert VERIFIER.refusal(None, b"{}", headers) is Unverified.UNSIGNED


def test_two_signatures_are_not_believed_even_if_one_is_right() -> None:
    right = SIGNER.record_headers(None, b"{}")
    wrong = (SIGNATURE_HEADER, b"0" * 64)
    assert VERIFIER.refusal(None, b"{}", [*right, wrong]) is Unverified.UNSIGNED


def test_the_key_id_is_a_fingerprint_that_does_not_show_the_key() -> None:
    text = new_signing_key()
    key = SigningKey.from_text(text)
    assert key.key_id == SigningKey.from_text(text).key_id  # stable: both sides derive it
    assert key.key_id not in text and text not in repr(key)
    assert len(key.key_id) == 16


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("command_signing_key", "short-key"),
        ("command_signing_key", "ab" * 30),  # long, but two characters over and over
        ("command_signing_previous_keys", f"{new_signing_key()},too-short"),
    ],
)
def test_weak_keys_are_refused_when_settings_load_without_showing_them(
    setting: str, key: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({setting: key})
    assert "command signing key" in str(refused.value)
    assert "too-short" not in str(refused.value) and "short-key" not in str(refused.value)
    assert "abab" not in str(refused.value)


def test_without_a_key_neither_side_starts() -> None:
    with pytest.raises(ValueError, match="DUALSYNC_COMMAND_SIGNING_KEY is not set"):
        Settings(command_signing_key=None).command_signer()
    with pytest.raises(ValueError, match="DUALSYNC_COMMAND_SIGNING_KEY is not set"):
        Settings(command_signing_key=None).command_verifier()


def test_settings_sign_with_the_current_key_and_verify_with_both() -> None:
    current, previous = new_signing_key(), new_signing_key()
    settings = Settings(command_signing_key=current, command_signing_previous_keys=previous)
    old = Settings(command_signing_key=previous)
    value = b"{}"
    assert settings.command_signer().key_id == SigningKey.from_text(current).key_id
    verifier = settings.command_verifier()
    assert verifier.refusal(None, value, old.command_signer().record_headers(None, value)) is None
