"""The planted secrets: real-world shapes, each value unique to the place it is planted.

``shape(kind)`` makes one secret of a kind as it appears in real traffic (``text``: the
secret in its usual surroundings, e.g. ``aws_secret_access_key=...``) and the bytes that must
never leave (``secret``). Values come from a seeded generator: the same every run, unique
per placement, so a leak names its path.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

_rng = random.Random(20261130)
_ALNUM = string.ascii_letters + string.digits


def _chars(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def luhn_card(prefix: str = "4", length: int = 16) -> str:
    """A Luhn-valid card number, unique per call."""
    body = prefix + "".join(_rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def spaced(card: str) -> str:
    return " ".join(card[i : i + 4] for i in range(0, len(card), 4))


@dataclass(frozen=True)
class Planted:
    kind: str
    #: How the secret appears where it is planted.
    text: str
    #: What must never leave, in any form listed here.
    forms: tuple[str, ...]
    #: The value as planted when it is not text (a card number as an int).
    value: object = field(default=None, compare=False)


def shape(kind: str) -> Planted:
    if kind == "stripe secret key":
        s = "sk_live_" + _chars(24)
        return Planted(kind, f"charging with {s}", (s,))
    if kind == "stripe restricted key":
        s = "rk_live_" + _chars(24)
        return Planted(kind, f"restricted {s} in use", (s,))
    if kind == "stripe webhook secret":
        s = "whsec_" + _chars(32)
        return Planted(kind, f"webhook signing with {s}", (s,))
    if kind == "google api key":
        s = "AIza" + _chars(35, _ALNUM + "_-")
        return Planted(kind, f"maps key {s}", (s,))
    if kind == "aws access key id":
        s = "AKIA" + _chars(16, string.ascii_uppercase + string.digits)
        return Planted(kind, f"aws_access_key_id {s}", (s,))
    if kind == "aws secret key":
        s = _chars(40, _ALNUM + "/+")
        return Planted(kind, f"aws_secret_access_key={s}", (s,))
    if kind == "aws session token":
        s = "FwoGZXIvYXdzE" + _chars(120, _ALNUM + "/+")
        return Planted(kind, f"AWS_SESSION_TOKEN={s}", (s,))
    if kind == "azure account key":
        s = _chars(86, _ALNUM + "/+") + "=="
        text = (
            "DefaultEndpointsProtocol=https;AccountName=shopdata;"
            f"AccountKey={s};EndpointSuffix=core.windows.net"
        )
        return Planted(kind, text, (s,))
    if kind == "pem private key":
        body = "MIIEv" + _chars(60, _ALNUM + "/+")
        text = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"
        return Planted(kind, f"key file:\n{text}\n", (body,))
    if kind == "postgres url password":
        s = "Pg" + _chars(14)
        return Planted(kind, f"dsn postgresql://orders:{s}@db.internal:5432/orders", (s,))
    if kind == "redis url password":
        s = "Rd" + _chars(14)
        return Planted(kind, f"cache at redis://:{s}@cache.internal:6379/0", (s,))
    if kind == "amqp url password":
        s = "Mq" + _chars(14)
        return Planted(kind, f"broker amqp://shop:{s}@rabbit.internal:5672/", (s,))
    if kind == "slack webhook":
        s = _chars(24)
        url = f"https://hooks.slack.com/services/T0{_chars(8)}/B0{_chars(8)}/{s}"
        return Planted(kind, f"alerts go to {url}", (s,))
    if kind == "url userinfo":
        s = "Ui" + _chars(14)
        return Planted(kind, f"clone https://deploy:{s}@git.example.com/shop.git", (s,))
    if kind == "signed url signature":
        s = _chars(64, "0123456789abcdef")
        url = (
            "https://bucket.s3.amazonaws.com/invoice.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Expires=300&X-Amz-Signature={s}"
        )
        return Planted(kind, f"download {url}", (s,))
    if kind == "card number (text)":
        card = luhn_card()
        return Planted(kind, f"pay with {spaced(card)}", (card, spaced(card)))
    if kind == "card number (int)":
        card = luhn_card("51")  # Mastercard: a network prefix, as real cards have
        return Planted(kind, card, (card, spaced(card)), value=int(card))
    if kind == "jwt":
        s = "eyJhbGciOiJIUzI1NiJ9." + _chars(40, _ALNUM + "_-") + "." + _chars(43, _ALNUM + "_-")
        return Planted(kind, f"session jwt {s}", (s.split(".")[1], s.split(".")[2]))
    if kind == "bearer token":
        s = _chars(32)
        return Planted(kind, f"Authorization: Bearer {s}", (s,))
    if kind == "github fine-grained pat":
        s = "github_pat_" + _chars(22) + "_" + _chars(59)
        return Planted(kind, f"ci uses {s}", (s,))
    if kind == "password with spaces":
        s = f"correct horse {_chars(10)} staple"
        return Planted(kind, f"password={s}", (s, s.split(" ")[2]))
    if kind == "form-style password key":
        s = "Fk" + _chars(14)
        return Planted(kind, f"user[name]=ada&user[password]={s}&remember=1", (s,))
    raise ValueError(kind)


#: Every shape the suite plants in each general place.
KINDS: tuple[str, ...] = (
    "stripe secret key",
    "stripe restricted key",
    "stripe webhook secret",
    "google api key",
    "aws access key id",
    "aws secret key",
    "aws session token",
    "azure account key",
    "pem private key",
    "postgres url password",
    "redis url password",
    "amqp url password",
    "slack webhook",
    "url userinfo",
    "signed url signature",
    "card number (text)",
    "card number (int)",
    "jwt",
    "bearer token",
    "github fine-grained pat",
    "password with spaces",
    "form-style password key",
)

#: The general places: each gets one secret of every kind.
PLACES: tuple[str, ...] = (
    "http body",
    "log message",
    "message body",
    "burr state",
    "llm prompt",
)


def plant() -> dict[str, Planted]:
    """name -> the planted secret; names say where (``"http body: jwt"``)."""
    planted = {f"{place}: {kind}": shape(kind) for place in PLACES for kind in KINDS}
    specific = {
        "http authorization header": "bearer token",
        "http cookie header": "jwt",
        "http x-api-key header": "stripe secret key",
        "http user-agent": "google api key",
        "http x-debug header": "aws secret key",
        "http query": "password with spaces",
        "http query signature": "signed url signature",
        "http reset token in path": "reset token",
        "http 422 input (pin)": "pin",
        "http exception message": "postgres url password",
        "http exception cause": "stripe webhook secret",
        "faststream exception message": "aws secret key",
        "faststream exception cause": "redis url password",
        "faststream message header": "bearer token",
        "burr exception message": "bearer token",
        "burr exception cause": "github fine-grained pat",
        "openai client key echoed by a 401": "openai key",
        "metric attribute (password)": "pin",
        "metric attribute (url)": "amqp url password",
        "resource attribute (db_password)": "pin",
        "resource attribute (dsn)": "postgres url password",
        "otlp endpoint userinfo": "pin",
        "incoming baggage (session)": "pin",
    }
    for name, kind in specific.items():
        if kind == "reset token":
            s = _chars(43, _ALNUM + "_-")
            planted[name] = Planted(kind, s, (s,))
        elif kind == "pin":
            s = "Pn" + _chars(10)
            planted[name] = Planted("password", s, (s,))
        elif kind == "openai key":
            s = "sk-proj-" + _chars(40)
            planted[name] = Planted("openai api key", s, (s,))
        else:
            planted[name] = shape(kind)
    return planted


#: A secret written into this file's source, on the line that fails: a traceback's source line.
SOURCE_LINE_SECRET = "SrcLinePw7Qz4Lm9"
