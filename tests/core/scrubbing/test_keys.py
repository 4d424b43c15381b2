"""Key names: snake_case, kebab-case, camelCase and dotted spellings of a secret name alike."""

from __future__ import annotations

import json

import pytest

import obs
from obs._scrubbing import Scrubber

SCRUBBER = Scrubber()

SECRET_KEYS = {
    "password": "password",
    "db_pwd": "password",
    "dbPassword": "password",
    "user[password]": "password",
    "passphrase": "password",
    "client_secret": "secret",
    "clientSecret": "secret",
    "x-api-key": "api key",
    "X-Api-Key": "api key",
    "apiKey": "api key",
    "OPENAI_API_KEY": "api key",
    "aws.secret_access_key": "secret",
    "accessKey": "key",
    "private-key": "key",
    "signingKey": "key",
    "AccountKey": "key",
    "credentials": "credential",
    "authorization": "auth",
    "HTTPAuthorization": "auth",
    "oauth_state": "auth",
    "proxy-authenticate": "auth",
    "token": "token",
    "refreshToken": "token",
    "refresh-token": "token",
    "access_token": "token",
    "csrftoken": "csrf",
    "aws_session_token": "session",  # the leftmost rule names it
    "refresh_jwt": "jwt",
    "idJwt": "jwt",
    "session": "session",
    "sessionId": "session",
    "session.id": "session",
    "set-cookie": "cookie",
    "x-xsrf-header": "csrf",
    "user_ssn": "ssn",
    "userSsn": "ssn",
    "USER_SSN": "ssn",
    "social_security_number": "ssn",
    "card_cvv": "card number",
    "cardCvc": "card number",
    "card_number": "card number",
    "creditCard": "card number",
    "payee_iban": "iban",
    "payeeIban": "iban",
    "X-Amz-Signature": "signature",
    "sig": "signature",
    "totp": "one-time code",
}

CLEAN_KEYS = [
    "tokens",
    "tokenizer",
    "max_tokens",
    "input_tokens",
    "gen_ai.usage.input_tokens",
    "gen_ai.request.max_tokens",
    "token_count",
    "author",
    "authority",
    "authored_by",
    "coauthor",
    "keyboard",
    "monkey",
    "key",
    "cache_key",
    "session_count",
    "sessions",
    "session_duration",
    "secretary",
    "passenger",
    "design",
    "card_type",
    "cards",
    "AuthenticationError",  # an exception's name: "AuthenticationError: Error code: 401"
    "token_error",
    "http.route",
    "messaging.message.id",
]


@pytest.mark.parametrize(("key", "label"), sorted(SECRET_KEYS.items()))
def test_secret_key_spellings(key, label):
    assert SCRUBBER.key_pattern(key) == label


@pytest.mark.parametrize("key", CLEAN_KEYS)
def test_near_miss_keys_are_kept(key):
    assert SCRUBBER.key_pattern(key) is None


def test_key_spellings_through_a_span_and_a_json_body(obs_capture):
    values = {key: f"v{i}Secret" for i, key in enumerate(SECRET_KEYS)}
    with obs.span("keys", **values, body=json.dumps(values)):
        pass
    span = obs_capture.one("keys")
    exported = json.dumps(dict(span.attributes))
    for value in values.values():
        assert value not in exported
    for key in CLEAN_KEYS:
        with obs.span("clean", **{key: "visible"}):
            pass
    for clean in obs_capture.find("clean"):
        assert "obs.scrubbed" not in clean.attributes
