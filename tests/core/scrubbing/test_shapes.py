"""Every value shape in ``_scrub_patterns``: its example is scrubbed, its near miss is not.

The table is the data the scrubber runs on, so a shape added there is tested here without a
new test. The marker names the pattern and never echoes any part of the secret.
"""

from __future__ import annotations

import re

import pytest

from obs import ScrubbingOptions
from obs._scrub_patterns import PII_EXAMPLES, SHAPES
from obs._scrubbing import Scrubber

SCRUBBER = Scrubber()


def scrub(text: str, scrubber: Scrubber = SCRUBBER) -> tuple[str, list[str]]:
    found: list[str] = []
    return scrubber.scrub_text("v", text, found), found


def secret_of(shape) -> str:
    """The part of the shape's example that is secret (its ``secret`` group, or all of it)."""
    regex = re.compile(shape.pattern, 0 if shape.case_sensitive else re.IGNORECASE)
    m = regex.search(shape.example)
    assert m is not None, shape
    secret = m.group("secret") if "secret" in regex.groupindex else m.group(0)
    if shape.check == "pem":  # the header matched; the body is the secret
        secret = shape.example.split("\n")[1]
    return secret


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.label}:{s.triggers[0]}")
def test_shape_example_is_scrubbed(shape):
    text = f"before {shape.example} after"
    out, found = scrub(text)
    assert found, out
    assert f"[scrubbed: {shape.label}]" in out
    assert out.startswith("before ")
    assert out.endswith(" after")
    # no part of the secret survives (a kept prefix such as "Bearer " is not secret)
    secret = secret_of(shape)
    rest = re.sub(r"\[scrubbed: [^\]]*\]", "", out)
    for i in range(0, max(1, len(secret) - 5)):
        assert secret[i : i + 6] not in rest, (secret[i : i + 6], out)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.label}:{s.triggers[0]}")
def test_shape_near_miss_is_kept(shape):
    out, found = scrub(shape.near_miss)
    assert out == shape.near_miss
    assert not found


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s.label}:{s.triggers[0]}")
def test_scrubbing_is_idempotent(shape):
    once, _ = scrub(shape.example)
    twice, found = scrub(once)
    assert twice == once
    assert found == ["v"]  # the marker is still listed in obs.scrubbed


@pytest.mark.parametrize(
    ("text", "label", "secret"),
    [
        ("OPENAI_API_KEY sk-proj-Abc123Def456Ghi789Jkl0", "api key", "Abc123Def456Ghi789Jkl0"),
        ("key: sk-ant-api03-AbCdEfGhIjKlMnOpQrSt", "api key", "AbCdEfGhIjKlMnOpQrSt"),
        ("rk_live_51HxYzAbCdEfGh12345678", "api key", "51HxYzAbCdEfGh12345678"),
        ("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "api key", "4eC39HqLyjWDarjtT1zdp7dc"),
        ("ASIAY34FZKBOKMUTVV7A", "aws access key id", "Y34FZKBOKMUTVV7A"),
        ("FwoGZXIvYXdzEBYaDHqa0AP1/CdkOa+Ui7Ly", "aws session token", "EBYaDHqa0AP1/CdkOa"),
        (
            "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;"
            "SharedAccessKey=AbCdEf1234567890+/=",
            "azure key",
            "AbCdEf1234567890",
        ),
        (
            "https://acct.blob.core.windows.net/c?sv=2021&SharedAccessSignature=sv2021sigAbCdEf",
            "azure key",
            "sv2021sigAbCdEf",
        ),
        ("redis://:RedisPassw0rd@cache:6379/0", "url credentials", "RedisPassw0rd"),
        ("amqp://guest:guest@localhost:5672/", "url credentials", "guest:guest"),
        ("mongodb+srv://admin:M0ngoPw@cluster0.mongodb.net", "url credentials", "M0ngoPw"),
        (
            "https://ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789@github.com/o/r",
            "url credentials",
            "AbCdEfGhIjKlMnOpQrSt",
        ),
        ("ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "github token", "AbCdEfGhIjKlMnOpQrSt"),
        ("xoxp-1234567890-abcdefghij", "slack token", "1234567890-abcdefghij"),
        ("Basic dXNlcjpwYXNzd29yZA==", "bearer credentials", "dXNlcjpwYXNzd29yZA"),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
            "private key",
            "b3BlbnNzaC1rZXktdjEAAAAA",
        ),
        (
            "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIBkg\\n-----END EC PRIVATE KEY-----",
            "private key",
            "MHcCAQEEIBkg",
        ),
    ],
)
def test_more_spellings_of_the_shapes(text, label, secret):
    out, found = scrub(f"x {text} y")
    assert found
    assert f"[scrubbed: {label}]" in out
    assert secret not in out


@pytest.mark.parametrize(
    "text",
    [
        "https://s3.amazonaws.com/b/k?X-Amz-Credential=AKIAX%2F2024&X-Amz-Signature=ab12cd34ef",
        "https://storage.googleapis.com/b/o?X-Goog-Signature=ab12cd34ef56&x=1",
        "https://cdn.example.com/v.mp4?Expires=1&Signature=ab12cd34ef56&Key-Pair-Id=K2",
        "https://acct.blob.core.windows.net/c/b?sv=2022&sp=r&sig=ab12cd34ef56%3D",
    ],
)
def test_signed_url_signatures_anywhere(text):
    out, found = scrub(text)
    assert found
    assert "ab12cd34ef" not in out
    assert out.startswith("https://")


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("password=correct horse battery staple", "correct horse battery staple"),
        ('password: "a b c"', "a b c"),
        ("user[password]=hunter two&next=1", "hunter two"),
        ("login failed for user=bob password=hunter2; retry", "hunter2"),
        ('{"db_pwd": "x y z"} trailing', "x y z"),
        ("refresh-token: abc.def.ghi", "abc.def.ghi"),
        ("X-Api-Key: abcdef123456", "abcdef123456"),
        ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ("aws_session_token := IQoJb3JpZ2luX2VjEJr", "IQoJb3JpZ2lu"),
        ("userSsn=078-05-1120", "078-05-1120"),
    ],
)
def test_assignments_in_text(text, secret):
    out, found = scrub(text)
    assert found, out
    assert secret not in out, out


@pytest.mark.parametrize(
    "text",
    [
        'log {\\"password\\": \\"hunter2\\", \\"user\\": \\"bob\\"}',
        "a=1&password%3Dhunter2&b=2",
        "{'password': 'hunter2', 'user': 'bob'}",
    ],
    ids=["escaped json", "url-encoded", "python repr"],
)
def test_assignments_in_escaped_and_encoded_text(text):
    out, found = scrub(text)
    assert "hunter2" not in out
    assert found
    assert "bob" in out or "b=2" in out


def test_assignment_value_stops_at_the_next_assignment():
    out, _ = scrub("token=abc123 user=bob page=2")
    assert out == "token=[scrubbed: token] user=bob page=2"


@pytest.mark.parametrize(
    "text",
    [
        "tokens=5 max_tokens: 100 input_tokens=12",
        "author: ann, authority=dns",
        "keyboard=qwerty monkey: george",
        "the password was reset; please log in",
        "session_count=4 sessions: 3",
        "order 4111111111111112 shipped",  # fails the Luhn check
        "id 1234567890123456 (no card network starts with 1)",
        "version 2024.01.15.1234567890123",
        "page=2&sort=asc",
        # the HTTP conventions' placeholders, written by integrations before the scrubber
        "https://REDACTED:REDACTED@host/x?sig=REDACTED&X-Amz-Signature=REDACTED&api_key=REDACTED",
    ],
)
def test_near_misses_in_text(text):
    out, found = scrub(text)
    assert out == text
    assert not found


@pytest.mark.parametrize(
    "card", ["4111 1111 1111 1111", "4012-8888-8888-1881", "378282246310005", "6011111111111117"]
)
def test_card_numbers_in_text(card):
    out, _found = scrub(f"paid with {card}.")
    assert out == "paid with [scrubbed: card number]."


def test_card_numbers_inside_longer_digit_runs():
    out, _ = scrub("qty 12 4111 1111 1111 1111 5555-5555-5555-4444 ref 0.4111111111111111")
    assert out == "qty 12 [scrubbed: card number] [scrubbed: card number] ref 0.4111111111111111"


@pytest.mark.parametrize("kind", sorted(PII_EXAMPLES))
def test_pii_is_off_by_default_and_on_by_option(kind):
    example, near_miss = PII_EXAMPLES[kind]
    assert scrub(example)[0] == example  # not promised by default (see README)
    scrubber = Scrubber(ScrubbingOptions(pii=(kind,)))
    out, found = scrub(example, scrubber)
    assert found
    assert f"[scrubbed: {kind}]" in out
    assert scrub(near_miss, scrubber)[0] == near_miss


def test_email_and_phone_are_replaced_whole():
    scrubber = Scrubber(ScrubbingOptions(pii=("email", "phone")))
    out, _ = scrub("mail jane.doe+tag@example.co.uk or call +44 20 7946 0958.", scrubber)
    assert out == "mail [scrubbed: email] or call [scrubbed: phone]."
    out, _ = scrub("+14155550123, 555-123-4567 and (555) 123-4567", scrubber)
    assert out == "[scrubbed: phone], [scrubbed: phone] and [scrubbed: phone]"


def test_unknown_pii_kind_is_refused():
    with pytest.raises(ValueError, match="unknown pii"):
        ScrubbingOptions(pii=("address",))


def test_value_patterns_match_values_and_extra_patterns_stay_key_patterns():
    scrubber = Scrubber(
        ScrubbingOptions(
            extra_patterns=[r"national[_ ]id"], value_patterns={"employee id": r"\bEMP-\d{6}\b"}
        )
    )
    out, _found = scrub("badge EMP-123456 national_id=99-AB", scrubber)
    assert out == "badge [scrubbed: employee id] national_id=[scrubbed: national_id]"
    assert scrubber.key_pattern("national_id") == "national_id"
    assert scrubber.key_pattern("EMP-123456") is None  # a value pattern says nothing of keys


def test_the_marker_never_echoes_the_secret():
    secrets = [s.example for s in SHAPES] + ["password=hunter2hunter2"]
    for secret in secrets:
        out, _ = scrub(secret)
        for marker in re.findall(r"\[scrubbed: [^\]]*\]", out):
            assert marker[len("[scrubbed: ") : -1] in {s.label for s in SHAPES} | {"password"}


def test_a_client_cannot_hide_a_secret_behind_a_fake_marker():
    out, found = scrub("[scrubbed: sk-proj-abcdefghijklmnopqrstuvwx] and [scrubbed: password=x1]")
    assert "abcdefghijklmnop" not in out
    assert "x1" not in out
    assert found
    # a real marker is left as it is
    assert scrub("key [scrubbed: api key] here") == ("key [scrubbed: api key] here", ["v"])


def test_every_trigger_is_covered_by_a_gate():
    """The clean verdict only looks for the gates: a trigger outside them would never scan."""
    from obs._scrub_patterns import GATES, KEY_TRIGGERS

    # a PEM private-key header has no gate in "-----begin" but always holds "private key"
    covered_by_the_match = {"-----begin": "key"}
    for trigger in (*KEY_TRIGGERS, *(t for s in SHAPES for t in s.triggers)):
        gate = covered_by_the_match.get(trigger)
        assert any(g in trigger for g in GATES) or gate in GATES, trigger


def test_the_accelerated_and_the_plain_gate_agree():
    """obs-core[speedups] changes how fast the clean verdict is, never what it is."""
    from obs._scrub_keys import KeyNames
    from obs._scrub_text import TextScanner

    fast = TextScanner(KeyNames((), ()))
    plain = TextScanner(KeyNames((), ()), accelerate=False)
    texts = [s.example for s in SHAPES] + [s.near_miss for s in SHAPES]
    texts += ["plain words only", "ÄÖÜ İstanbul", "", "4111 1111 1111 1111", "a" * 5000]
    for text in texts:
        assert fast.suspect(text) == plain.suspect(text), text
