"""What the scrubber looks for, as data: secret key names and the shapes of secret values.

Everything here is a table, so adding a credential shape is one entry (with the example it
must catch and the near miss it must leave alone; the tests run every entry's examples).

Linear by construction: a value is never searched with these regexes from every position.
The scanner (``_scrub_text.py``) finds each shape's literal *trigger* with a plain substring
search, and then matches the shape's regex once, anchored at that trigger, inside a window of
at most ``window`` characters. Each regex is a literal prefix followed by bounded runs of one
character class separated by characters outside that class, so a match attempt is bounded by
its window and cannot backtrack quadratically. Shapes whose secret sits after a non-secret
prefix (``Bearer``, ``AccountKey=``, ``://``) name the secret part with a ``secret`` group and
keep the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

#: How a replaced value reads: names the pattern, never any part of the secret.
REPLACEMENT = "[scrubbed: {}]"

# -- key names ---------------------------------------------------------------------------
# A key is normalised before it is classified: camelCase is split, everything lower-cased,
# every run of other characters becomes "_", and the result is wrapped in "_" (so
# "refreshToken", "refresh-token", "REFRESH_TOKEN" and "refresh.token" all read
# "_refresh_token_"). "_" in a rule is a word boundary; words may also be glued
# ("dbpassword"), which the substring rules still catch.
#: (label, regex over the normalised key): the first rule that matches names the key.
KEY_RULES: tuple[tuple[str, str], ...] = (
    ("password", r"passw(?:or)?d|passphrase|passcode|_pwd_"),
    ("secret", r"secret(?!ar[iy])"),  # not "secretary", "secretariat"
    ("api key", r"api_?key"),
    (
        "key",
        r"(?:access|private|account|signing|encryption|master|shared|client|licen[cs]e)_?key",
    ),
    ("credential", r"credential"),
    # "auth", "oauth", "authorization", "authentication"; not "author", "authority",
    # "authored", "coauthor".
    ("auth", r"auth(?!or(?!i[sz])|orit)"),
    # "token", "refresh_token", "csrftoken"; not "tokens", "max_tokens", "input_tokens",
    # "tokenizer" or token counts (usage figures, not credentials).
    ("token", r"token(?!s_|iz|_?(?:count|usage|limit|budget)_)"),
    ("jwt", r"jwt"),
    # A session id is a credential; session counts, durations and states are not.
    (
        "session",
        r"session(?!s_|_?(?:count|duration|length|timeout|ttl|start|started|end|ended|"
        r"state|status|type|name|expires|expiry)_)",
    ),
    ("cookie", r"cookie"),
    ("csrf", r"[cx]srf"),
    ("ssn", r"_ssn_|social_?security"),
    ("card number", r"credit_?card|card_?(?:number|num|no|nr)_|_cv[cv]2?_"),
    ("iban", r"_iban_"),
    ("signature", r"signature|_sig_"),
    ("one-time code", r"_t?otp_"),
)

#: A key whose last word says it is about an error, not a credential, is not secret:
#: "AuthenticationError: Error code: 401" is an exception's name and message, not an
#: assignment; "token_error", "password_failed" hold no secret.
NOT_SECRET_TAIL = r"_(?:errors?|exception|warning|failure|failed)_$"

#: Lower-case literals one of which every key matching ``KEY_RULES`` contains: where one
#: appears in text, the word around it is read as a possible ``name=value`` assignment.
KEY_TRIGGERS: tuple[str, ...] = (
    "pass",
    "pwd",
    "secret",
    "key",
    "credential",
    "auth",
    "token",
    "jwt",
    "session",
    "cookie",
    "srf",
    "ssn",
    "social",
    "card",
    "cvv",
    "cvc",
    "iban",
    "sig",
    "otp",
)


# -- value shapes ------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """One recognisable secret shape inside text."""

    #: What the replacement marker calls it.
    label: str
    #: Lower-case literals, one of which starts every match (found by substring search).
    triggers: tuple[str, ...]
    #: Matched once at the trigger's position; bounded; ``(?P<secret>...)`` marks the part
    #: replaced (default: the whole match).
    pattern: str
    #: The regex is case-sensitive (``AKIA...``, ``AIza...``, ``eyJ...``).
    case_sensitive: bool = False
    #: At most this many characters are looked at from the trigger.
    window: int = 1024
    #: The character before the trigger must not be a letter, digit or ``_``.
    word_start: bool = True
    #: Extra check on the matched secret (see ``_scrub_text.CHECKS``).
    check: str = ""
    #: Must be scrubbed (the tests assert it, and that no part of it survives).
    example: str = ""
    #: Must be left alone.
    near_miss: str = ""


_B64 = "A-Za-z0-9+/="
_TOKEN = "A-Za-z0-9_\\-"

SHAPES: tuple[Shape, ...] = (
    Shape(
        "bearer credentials",
        ("bearer", "basic"),
        r"(?:bearer|basic)[ \t]{1,8}(?P<secret>[A-Za-z0-9._~+/=\-]{8,4096})",
        window=4200,
        check="credential",
        example="Authorization Bearer abcDEF123456ghiJKL",
        near_miss="a basic understanding; the bearer of news",
    ),
    Shape(
        "jwt",
        ("eyj",),
        rf"eyJ[{_TOKEN}]{{4,8192}}\.[{_TOKEN}]{{4,8192}}\.[{_TOKEN}]{{0,8192}}",
        case_sensitive=True,
        window=24600,
        example="eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz",
        near_miss="eyJustAWord.notAJwt",
    ),
    Shape(
        "api key",  # OpenAI sk-/sk-proj-/sk-svcacct-, Anthropic sk-ant-, and older pk-/rk-
        ("sk-", "pk-", "rk-"),
        rf"[spr]k-[{_TOKEN}]{{16,512}}",
        window=520,
        example="sk-proj-abcdefghijklmnopqrstuvwx",
        near_miss="task-force-alpha-bravo-charlie-delta and sk-short",
    ),
    Shape(
        "api key",  # Stripe secret and restricted keys
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
        r"[sr]k_(?:live|test)_[A-Za-z0-9]{8,256}",
        window=270,
        example="sk_live_51HxYzAbCdEfGh12345678",
        near_miss="pk_live_51HxYzAbCdEfGh12345678 is publishable; sk_live_ alone",
    ),
    Shape(
        "webhook secret",  # Stripe webhook signing secrets
        ("whsec_",),
        rf"whsec_[{_B64}]{{16,256}}",
        window=270,
        example="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        near_miss="whsec_short",
    ),
    Shape(
        "api key",  # Google API keys
        ("aiza",),
        rf"AIza[{_TOKEN}]{{35}}",
        case_sensitive=True,
        window=40,
        example="AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
        near_miss="AIzaShortKey",
    ),
    Shape(
        "oauth token",  # Google OAuth access tokens
        ("ya29.",),
        rf"ya29\.[{_TOKEN}]{{20,2048}}",
        case_sensitive=True,
        window=2060,
        example="ya29.a0AfH6SMBx1y2z3A4B5C6D7E8F9G0",
        near_miss="ya29.short",
    ),
    Shape(
        "aws access key id",
        ("akia", "asia"),
        r"(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])",
        case_sensitive=True,
        window=21,
        example="AKIAIOSFODNN7EXAMPLE",
        near_miss="AKIAIOSFODNN7EXAMPLEWITHMORE and asian",
    ),
    Shape(
        "aws session token",  # STS session tokens begin with these base64 prefixes
        ("fwogzxivyxdz", "iqojb3jpz2lu"),
        rf"(?:FwoGZXIvYXdz|IQoJb3JpZ2lu)[{_B64}]{{16,8192}}",
        case_sensitive=True,
        window=8210,
        example="IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD",
        near_miss="IQoJb3JpZ2lu",
    ),
    Shape(
        "azure key",  # storage connection strings, Service Bus / Event Hubs
        ("accountkey=", "sharedaccesskey=", "sharedaccesssignature="),
        r"(?:AccountKey|SharedAccessKey|SharedAccessSignature)=(?P<secret>[^;\s\"'<>]{8,4096})",
        window=4120,
        example="DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4==;",
        near_miss="AccountKey=;AccountName=acct",
    ),
    Shape(
        "private key",  # PEM blocks; the scanner finds the END line (see ``_scrub_text``)
        ("-----begin",),
        r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----",
        window=80,
        word_start=False,
        check="pem",
        example=(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq2\nx9k=\n"
            "-----END RSA PRIVATE KEY-----"
        ),
        near_miss="-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
    ),
    Shape(
        "url credentials",  # any userinfo: postgresql://u:p@h, redis://:p@h, https://tok@h
        ("://",),
        r"://(?P<secret>[^\s/@?#\"'<>\\]{1,1024})@",
        word_start=False,
        check="userinfo",
        window=1030,
        example="postgresql://app:Sup3r-s3cret@db.internal:5432/app",
        near_miss="https://example.com/users/a@b and mailto:a@b",
    ),
    Shape(
        "slack webhook",
        ("hooks.slack.com/",),
        rf"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[{_TOKEN}/]{{8,512}})",
        window=560,
        example="https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
        near_miss="https://hooks.slack.com/ docs",
    ),
    Shape(
        "slack token",
        ("xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "xoxe-", "xapp-"),
        r"(?:xox[abprse]|xapp)-[A-Za-z0-9\-]{10,512}",
        window=520,
        example="xoxb-123456789012-1234567890123-AbCdEfGhIjKl",
        near_miss="xoxb-short",
    ),
    Shape(
        "github token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})",
        case_sensitive=True,
        window=270,
        example="github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        near_miss="ghp_short and github_pat_",
    ),
)

#: Card numbers: 13-19 digits (single spaces or dashes between groups of 3+ digits), then
#: the issuer prefix and the Luhn check decide (``_scrub_text.card_hits``).
#: Issuer prefixes (IIN ranges) of the card networks, with their lengths.
CARD_PREFIXES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("4", (13, 16, 19)),  # Visa
    ("51", (16,)),
    ("52", (16,)),
    ("53", (16,)),
    ("54", (16,)),
    ("55", (16,)),  # Mastercard
    ("22", (16,)),
    ("23", (16,)),
    ("24", (16,)),
    ("25", (16,)),
    ("26", (16,)),
    ("27", (16,)),  # Mastercard 2-series
    ("34", (15,)),
    ("37", (15,)),  # American Express
    ("6011", (16, 17, 18, 19)),
    ("65", (16, 17, 18, 19)),
    ("64", (16, 17, 18, 19)),  # Discover
    ("35", (16, 17, 18, 19)),  # JCB
    ("30", (14, 16)),
    ("36", (14, 16)),
    ("38", (14, 16)),  # Diners
    ("62", (16, 17, 18, 19)),  # UnionPay
)

#: The clean verdict's literals: every trigger above (key triggers and shape triggers, except
#: obs's own marker) contains one of these, so text holding none of them needs no scan. Fewer
#: and shorter than the triggers, because this check runs on every value not seen before.
GATES: tuple[str, ...] = (
    *KEY_TRIGGERS,  # also covers AccountKey=, SharedAccessKey=, PEM "PRIVATE KEY", ...Signature=
    "bearer",
    "basic",
    "eyj",
    "k-",  # sk-, pk-, rk-
    "k_",  # sk_live_, sk_test_, rk_live_, rk_test_
    "whsec",
    "aiza",
    "ya29.",
    "akia",
    "asia",
    "fwogzxivyxdz",
    "iqojb3jpz2lu",
    "://",
    "slack",
    "xox",
    "xapp",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat",
)

# -- personal data, off unless switched on (``ScrubbingOptions(pii=...)``) -----------------
#: Email addresses: the local part is read backwards from "@" (at most 64 characters).
EMAIL_DOMAIN = r"@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
EMAIL_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
#: Phone numbers: international (``+`` and 8-15 digits) or North American
#: (``(555) 123-4567``, ``555-123-4567``). Local formats without ``+`` are not recognised:
#: a dash-separated date or a version string would look the same.
PHONE_PATTERN = (
    r"(?<![\w+])(?:\+\d{8,15}(?!\d)"
    r"|\+\d{1,3}(?:[ \-.]?(?:\(\d{1,4}\)|\d{1,5}(?!\d))){2,5}"
    r"|(?:\(\d{3}\) ?|\d{3}[\-. ])\d{3}[\-. ]\d{4}(?!\d))(?![\w\-])"
)
PII_KINDS = ("email", "phone")
#: Labels obs's own code uses besides the tables' (see ``_scrubbing``).
OTHER_LABELS = ("card number", "path token", "too large to check")
PII_EXAMPLES: dict[str, tuple[str, str]] = {
    "email": ("write to jane.doe+tag@example.co.uk today", "user@localhost or a@b"),
    "phone": ("call +44 20 7946 0958 or (555) 123-4567", "released 2024-01-15, v1.2.3"),
}
