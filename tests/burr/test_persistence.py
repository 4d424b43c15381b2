"""State persisted and resumed: the resumed run's spans carry the same app id and partition key
and continue the sequence ids, so both runs can be found together."""

from __future__ import annotations

from typing import Any

import pytest
from burr.core import ApplicationBuilder, expr
from burr.core.persistence import InMemoryPersister, SQLitePersister

from obs_burr import ObsHooks
from tests.burr.apps import finish, inc


def resumable(persister: Any) -> Any:
    return (
        ApplicationBuilder()
        .with_actions(inc=inc, finish=finish)
        .with_transitions(("inc", "inc", expr("n < 3")), ("inc", "finish", expr("n >= 3")))
        .initialize_from(
            persister, resume_at_next_action=True, default_state={"n": 0}, default_entrypoint="inc"
        )
        .with_state_persister(persister)
        .with_identifiers(app_id="conversation-9", partition_key="user-42")
        .with_hooks(ObsHooks(name="chat"))
        .build()
    )


@pytest.fixture(params=["sqlite", "memory"])
def persister(request, tmp_path):
    if request.param == "memory":
        yield InMemoryPersister()
        return
    sqlite = SQLitePersister.from_values(str(tmp_path / "state.db"))
    sqlite.initialize()
    yield sqlite
    sqlite.cleanup()


def test_resumed_application_continues_its_identifiers(obs_capture, persister):
    resumable(persister).step()  # inc, n=1, persisted
    resumable(persister).step()  # resumed: inc, n=2

    _, _, state = resumable(persister).run(halt_after=["finish"])
    assert state["n"] == 3

    steps = [
        s for s in obs_capture.spans if s.name.startswith("step ") and "burr.action" in s.attributes
    ]
    assert [(s.name, s.attributes["burr.sequence_id"]) for s in steps] == [
        ("step inc", 0),
        ("step inc", 1),
        ("step inc", 2),
        ("step finish", 3),
    ]
    for span in obs_capture.spans:
        if "burr.app_id" in span.attributes:
            assert span.attributes["burr.app_id"] == "conversation-9"
            assert span.attributes["burr.partition_key"] == "user-42"
    assert [
        s.attributes["burr.method"]
        for s in obs_capture.find(None, **{"burr.app_id": "conversation-9"})
        if "burr.method" in s.attributes
    ] == ["step", "step", "run"]
