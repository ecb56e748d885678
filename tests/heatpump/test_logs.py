"""No secret reaches a log line, not even through an exception's text."""

import logging

from heatpump.logs import RedactingFilter


def test_secrets_masked_in_message_args_and_traceback(caplog):
    secret = "s3cr3t-token-value"
    log = logging.getLogger("test.redact")
    f = RedactingFilter([secret, ""])
    caplog.handler.addFilter(f)
    log.warning("calling https://api.example/bot%s/getMe", secret)
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        log.exception("boom")
    text = caplog.text
    assert secret not in text
    assert "***" in text and "failed with" in text


def test_a_url_shown_keeps_its_user_but_never_its_password():
    from heatpump.logs import hide_url_password

    assert hide_url_password("http://admin:pw-1@127.0.0.1:80") == "http://admin:***@127.0.0.1:80"
    # a password holding '@', '/' or '#' is hidden whole; no scheme is no excuse
    assert hide_url_password("htp://admin:p@s/s#1@127.0.0.1") == "htp://admin:***@127.0.0.1"
    assert hide_url_password("admin:pw-2@127.0.0.1") == "admin:***@127.0.0.1"
    for unchanged in ("http://127.0.0.1:8086", "http://token-user@127.0.0.1", "influxdb:8086"):
        assert hide_url_password(unchanged) == unchanged
