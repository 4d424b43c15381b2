"""No planted secret reaches any exported byte, with every opt-in capture switched on.

One scenario runs all four integrations in one process, the way a service would: a FastAPI
request (credential headers, a password in the query and the body, a card number, a Set-Cookie
answer) publishes through FastStream to a handler that runs a Burr application whose state
holds a card number and a password; its action sends an OpenAI prompt with an API key pasted
in, meets a 401 that echoes the client's key, and a later action fails with a bearer token in
the exception message. obs exports to an OTLP receiver (raw protobuf bytes kept) and to the
local store (the SQLite file, its -wal and -shm read as bytes), with ``capture_content=True``
and each integration's own capture options on.

Each secret is unique to the place it was planted, so a leak names its path. A test per
secret searches every byte; a positive control proves the content around the secrets *was*
captured (so "no secret" does not just mean "nothing recorded").
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import httpx
import openai
import pytest
from burr.core import ApplicationBuilder, State, action
from fastapi import Cookie, FastAPI, Header
from fastapi.responses import JSONResponse
from faststream.redis import RedisBroker, TestRedisBroker
from pydantic import BaseModel, Field

import obs
from obs.testing import Capture
from obs.testing.otlp import OTLPReceiver, attributes
from obs_openai.testing import stand_in_client

# name -> the secret; the name says where it was planted. Alphanumeric values, so they read
# the same in protobuf, JSON and SQLite bytes.
CARD = "4111111111111111"  # a Luhn-valid test card number
SECRETS: dict[str, str] = {
    "http authorization header (Bearer)": "tokHdrBearer7Zq8Xw7Vu6Ts5",
    "http cookie header (session)": "sessCookie3Er5Ty7Ui9Op1Lk",
    "http x-api-key header": "sk-HdrApiKey4f9a8b7c6d5e4f3a2b",
    "http custom header (password=...)": "HdrAssignPw8Jk2Lm4Nb6",
    "http query password": "QueryPw5Tg7Yh9Uj1Ik3",
    "http query api_key": "QueryApiKey2Ws4Ed6Rf8",
    "http body password": "BodyPw6Yh8Uj0Ik2Ol4Pz",
    "http body card_number": "4012888888881881",
    "http body note (token: ...)": "BodyNoteTok9Ol1Pz3Xc5",
    "http body free-text card": "5555555555554444",
    "http response set-cookie": "SetCookieSess1Qa3Ws5Ed",
    "http 422 input under password": "InvPw7Rf9Tg",
    "http endpoint exception (Bearer)": "tokExcBearer4Rf6Tg8Yh0",
    "log attribute password": "LogPw3Ed5Rf7Tg9Yh1",
    "log message api key": "sk-LogMsgKey9Ol1Pz3Xc5Vb7Nm9",
    "message body password": "MsgBodyPw2Ws4Ed6Rf8",
    "message header authorization": "tokMsgHdr6Yh8Uj0Ik2Ol4",
    "burr state password": "BurrStatePw1Qa3Ws5Ed7",
    "burr state card_number": "378282246310005",
    "burr state nested api_key": "BurrNestedKey8Ik0Ol2Pz4",
    "burr input api_token": "BurrInputTok5Tg7Yh9Uj1",
    "burr state dict under a secret key (credentials.value)": "BurrCredValue3Ed5Rf7Tg",
    "burr state list under a secret key (previous_passwords)": "BurrOldPw9Ol1Pz3Xc5",
    "burr __tracer password": "BurrTracerPw6Yh8Uj0Ik",
    "llm prompt api key": "sk-PromptKey7Uj9Ik1Ol3Pz5Xc7",
    "llm prompt password": "PromptPw4Rf6Tg8Yh0Uj",
    "llm prompt card": "6011111111111117",
    "llm client api key (echoed by a 401)": "sk-ClientKey3Ed5Rf7Tg9Yh1Uj3",
    "burr action exception (Bearer)": "tokBurrExc2Ws4Ed6Rf8Tg",
}
# Non-secret words placed next to the secrets: they must be exported (capture is really on).
VISIBLE = {
    "http header": "visible-header-7d1",
    "http arguments": "visible-body-c42",
    "burr state": "visible-state-9e3",
    "llm prompt": "visible-prompt-5a8",
}
# Known leaks, each a precise bug (name -> the reason, used as a strict xfail); the rest must
# pass. Empty: the three this suite found (a 422's rejected input under a secret field name,
# a dict or a list under a secret key in Burr state) are fixed in the core's scrubbing.
KNOWN_LEAKS: dict[str, str] = {}


def spaced(card: str) -> str:
    return " ".join(card[i : i + 4] for i in range(0, len(card), 4))


class Signup(BaseModel):
    user: str
    password: str = Field(min_length=12)
    card_number: str
    note: str
    comment: str


def build_service(broker: RedisBroker, llm: Any) -> FastAPI:
    """The service under test; created after obs instrumented FastAPI and FastStream."""
    s = SECRETS
    app = FastAPI()

    @app.post("/signup/{user}")
    async def signup(
        user: str,
        form: Signup,
        authorization: Annotated[str | None, Header()] = None,
        x_debug: Annotated[str | None, Header()] = None,
        session: Annotated[str | None, Cookie()] = None,
        password: str | None = None,
        api_key: str | None = None,
    ) -> JSONResponse:
        obs.info(
            "signup for {user} with {password}", user=user, password=s["log attribute password"]
        )
        obs.warn(f"key in the text: api_key {s['log message api key']}")
        await broker.publish(
            {"user": user, "password": s["message body password"], "card": CARD},
            channel="signups",
            headers={"authorization": f"Bearer {s['message header authorization']}"},
        )
        response = JSONResponse({"ok": True})
        response.set_cookie("session", s["http response set-cookie"])
        return response

    @app.get("/fail")
    async def fail() -> None:
        raise RuntimeError(
            f"upstream refused Authorization: Bearer {s['http endpoint exception (Bearer)']}"
        )

    @broker.subscriber("signups")
    async def handle(body: dict[str, Any]) -> None:
        application = (
            ApplicationBuilder()
            .with_actions(
                profile=profile.bind(llm=llm), charge=charge, summarise=summarise.bind(llm=llm)
            )
            .with_transitions(("profile", "summarise"), ("summarise", "charge"))
            .with_state(
                customer=body["user"],
                password=s["burr state password"],
                card_number=s["burr state card_number"],
                profile={"api_key": s["burr state nested api_key"], "tag": VISIBLE["burr state"]},
            )
            .with_entrypoint("profile")
            .with_identifiers(app_id="signup-app")
            .build()
        )
        with pytest.raises(RuntimeError, match="card processor"):
            await application.arun(
                halt_after=["charge"], inputs={"api_token": s["burr input api_token"]}
            )

    return app


@action(
    reads=["customer", "password", "card_number", "profile"],
    writes=["profile", "reply", "credentials", "previous_passwords"],
)
async def profile(state: State, llm: Any, api_token: str, __tracer: Any) -> State:
    s = SECRETS
    __tracer.log_attributes(password=s["burr __tracer password"], tag=VISIBLE["burr state"])
    prompt = (
        f"{VISIBLE['llm prompt']}: my API key is {s['llm prompt api key']}, "
        f"password={s['llm prompt password']}, card {spaced(s['llm prompt card'])}"
    )
    answer = await llm.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}]
    )
    # a 401 answer names the key the client sent, as the real service does
    with pytest.raises(openai.AuthenticationError):
        await llm.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-stand-in-status": "401"},
        )
    return state.update(
        profile={**state["profile"], "password": state["password"]},
        credentials={
            "user": "ada",
            "value": s["burr state dict under a secret key (credentials.value)"],
        },
        previous_passwords=[s["burr state list under a secret key (previous_passwords)"]],
        reply=answer.choices[0].message.content,
    )


@action(reads=["card_number"], writes=["summary"])
async def summarise(state: State, llm: Any) -> State:
    stream = await llm.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"card {state['card_number']}"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    return state.update(summary="".join(parts))


@action(reads=["card_number"], writes=["charged"])
async def charge(state: State) -> State:
    token = SECRETS["burr action exception (Bearer)"]
    raise RuntimeError(f"card processor rejected Authorization: Bearer {token}")


async def run_scenario() -> None:
    s = SECRETS
    llm = stand_in_client(
        async_=True, api_key=s["llm client api key (echoed by a 401)"], max_retries=0
    )
    broker = RedisBroker(logger=None)
    app = build_service(broker, llm)
    async with TestRedisBroker(broker):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            response = await client.post(
                f"/signup/ada?password={s['http query password']}"
                f"&api_key={s['http query api_key']}",
                headers={
                    "authorization": f"Bearer {s['http authorization header (Bearer)']}",
                    "cookie": f"session={s['http cookie header (session)']}; theme=dark",
                    "x-api-key": s["http x-api-key header"],
                    "x-debug": f"password={s['http custom header (password=...)']}",
                    "x-visible": VISIBLE["http header"],
                },
                json={
                    "user": "ada",
                    "password": s["http body password"],
                    "card_number": spaced(s["http body card_number"]),
                    "note": f"token: {s['http body note (token: ...)']}",
                    "comment": f"{VISIBLE['http arguments']}, pay with "
                    f"{spaced(s['http body free-text card'])}",
                },
            )
            assert response.status_code == 200, response.text
            invalid = await client.post(
                "/signup/ada",
                json={
                    "user": "ada",
                    "password": s["http 422 input under password"],  # too short: a 422
                    "card_number": "x",
                    "note": "",
                    "comment": "",
                },
            )
            assert invalid.status_code == 422
            failed = await client.get("/fail")
            assert failed.status_code == 500


class Exported:
    """Every byte obs exported: OTLP request bodies and the store's files."""

    def __init__(self, receiver: OTLPReceiver, store: Path) -> None:
        self.receiver = receiver
        self.store = store
        self.blobs: dict[str, bytes] = {}

    def collect(self, moment: str) -> None:
        for i, request in enumerate(self.receiver.requests):
            self.blobs[f"otlp {request.path} #{i}"] = request.body
        for path in sorted(self.store.parent.glob(self.store.name + "*")):
            self.blobs[f"{moment} {path.name}"] = path.read_bytes()

    def where(self, needle: bytes) -> list[str]:
        return [name for name, blob in self.blobs.items() if needle in blob]

    def attribute_paths(self, text: str) -> list[str]:
        """For a leak: which span attribute or event carried it (from the OTLP spans)."""
        found = []
        for span in self.receiver.spans():
            for key, value in attributes(span).items():
                if text in str(value):
                    found.append(f"{span.name!r} attribute {key}")
            for event in span.events:
                for key, value in attributes(event).items():
                    if text in str(value):
                        found.append(f"{span.name!r} event {event.name} {key}")
            if text in span.name or text in span.status.message:
                found.append(f"{span.name!r} name/status")
        return found


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    store = tmp_path_factory.mktemp("secrets") / "spans.db"
    capture = Capture()
    with OTLPReceiver() as receiver:
        capture.configure(
            otlp_endpoint=receiver.endpoint,
            store=str(store),
            capture_content=True,
            instrument={
                "fastapi": {
                    "capture_request_headers": True,
                    "capture_response_headers": True,
                    "capture_arguments": True,
                    "capture_validation_errors": True,
                    "operation_spans": True,
                },
                "faststream": {},
                "openai": {"capture_content": True},
                "burr": {"capture_content": True},
            },
        )
        try:
            asyncio.run(asyncio.wait_for(run_scenario(), 60))
            assert obs.force_flush()
            result = Exported(receiver, store)
            result.collect("flushed")  # the store's -wal holds the fresh rows now
            result.spans = list(capture.spans)  # type: ignore[attr-defined]
        finally:
            capture.close()  # shutdown: the store checkpoints its WAL into the main file
        result.collect("after shutdown")
    return result


def test_every_integration_ran_with_capture_on(exported: Exported) -> None:
    names = {s.name for s in exported.spans}  # type: ignore[attr-defined]
    for expected in (
        "POST /signup/{user}",
        "GET /fail",
        "send signups",
        "process signups",
        "invoke_workflow",
        "step profile",
        "step charge",
        "chat gpt-4o-mini",
    ):
        assert any(n.startswith(expected.split(" ")[0]) and expected in n for n in names), (
            expected,
            sorted(names),
        )
    assert any(k.startswith("otlp /v1/traces") for k in exported.blobs)
    assert any("spans.db" in k for k in exported.blobs)
    for place, word in VISIBLE.items():
        assert exported.where(word.encode()), f"{place}: captured content missing, capture is off?"
    scrubbed = [s for s in exported.spans if "obs.scrubbed" in (s.attributes or {})]  # type: ignore[attr-defined]
    assert len(scrubbed) >= 5, "the secrets reached obs's pipeline and were scrubbed there"


def _variants(secret: str) -> list[bytes]:
    forms = {secret}
    if secret.isdigit():  # card numbers: planted spaced, searched in every usual form
        forms |= {spaced(secret), "-".join(spaced(secret).split(" "))}
    return [f.encode() for f in forms]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_LEAKS[n]))
        if n in KNOWN_LEAKS
        else n
        for n in SECRETS
    ],
)
def test_secret_never_exported(exported: Exported, name: str) -> None:
    secret = SECRETS[name]
    leaks = {form.decode(): exported.where(form) for form in _variants(secret)}
    leaks = {form: places for form, places in leaks.items() if places}
    if leaks:
        detail = {form: exported.attribute_paths(form) for form in leaks}
        raise AssertionError(f"{name} leaked: {leaks}; carried by {detail}")
