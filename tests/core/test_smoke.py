import obs


def test_span_and_log_are_captured(obs_capture):
    with obs.span("outer"):
        obs.info("hello {who}", who="world")
    assert obs_capture.tree() == ["outer", "  hello {who}"]
    log = obs_capture.one("hello {who}")
    assert log.attributes["obs.msg"] == "hello world"
