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
