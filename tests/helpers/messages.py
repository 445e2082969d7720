"""What a refusal must say, checked as behaviour: one line that names the bad key, value or file and
the fix, in any order and any wording (rewording a message must not break a test; naming the wrong
key must)."""

from __future__ import annotations

import re


def naming(*names: object) -> str:
    """A ``pytest.raises(match=...)`` pattern: a one-line message that contains each of ``names``."""
    return r"\A" + "".join(f"(?=[^\n]*{re.escape(str(name))})" for name in names) + r"[^\n]*\Z"


def assert_names(message: str, *names: object) -> None:
    """``message`` is one line and contains each of ``names``."""
    assert "\n" not in message.strip(), message
    for name in names:
        assert str(name) in message, (name, message)
