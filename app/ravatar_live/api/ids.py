"""The shapes of the ids and codes the client sends (PROTOCOL.md sections 1-2), stated once.

`POST /jwt` takes a `user_id` of 1-128 characters of `[A-Za-z0-9_-]` and a `project_id` of 1-64
of `[A-Za-z0-9-]`. Avatar ids come from `/connection` (UUIDs in the wild); the client accepts
1-128 characters of `[A-Za-z0-9_.:-]` so that a hand-typed id cannot smuggle anything else into a
request. Language codes (`language_code`) are short BCP 47-ish tags such as "en", "en-US" or
"zh_Hans". The REST client, the settings checks and the command line all use these rules, and
say them in the same words (`IdRule.shape`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class IdRule:
    """One id's allowed shape: a full-match pattern and the same rule in words."""

    #: What the id is called in a sentence ("project id").
    name: str
    pattern: re.Pattern[str]
    #: The rule in words, e.g. "1-64 letters, digits or '-'".
    shape: str

    def matches(self, value: object) -> bool:
        """True when `value` is a string of exactly this shape."""
        return isinstance(value, str) and self.pattern.fullmatch(value) is not None

    def problem(self, value: object) -> str | None:
        """Why `value` is not such an id, as a sentence for people; None when it is one."""
        if self.matches(value):
            return None
        return f"{self.name[:1].upper()}{self.name[1:]} must be {self.shape}."


PROJECT_ID: Final = IdRule("project id", re.compile(r"[A-Za-z0-9-]{1,64}"),
                           "1-64 letters, digits or '-'")
USER_ID: Final = IdRule("user id", re.compile(r"[A-Za-z0-9_-]{1,128}"),
                        "1-128 letters, digits, '_' or '-'")
AVATAR_ID: Final = IdRule("avatar id", re.compile(r"[A-Za-z0-9_.:-]{1,128}"),
                          "1-128 letters, digits, '_', '.', ':' or '-'")
LANGUAGE_CODE: Final = IdRule("language code", re.compile(r"[A-Za-z0-9_-]{1,35}"),
                              "1-35 letters, digits, '_' or '-'")
