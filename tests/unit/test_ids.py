"""The id shapes of PROTOCOL.md, stated once (api/ids.py): the settings checks and the REST
client accept and refuse exactly the same values, in the same words."""

from __future__ import annotations

import re

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ravatar_live.api.errors import InvalidRequestError
from ravatar_live.api.ids import AVATAR_ID, LANGUAGE_CODE, PROJECT_ID, USER_ID
from ravatar_live.api.rest import RavatarClient
from ravatar_live.settings import (
    SettingsError,
    validate_avatar_id,
    validate_language,
    validate_project_id,
    validate_user_id,
)

# Values on both sides of every rule's edges.
SAMPLES = ["", "a", "A-z_0", "x" * 24, "0123456789abcdef01234567", "x" * 35, "x" * 36,
           "x" * 64, "x" * 65, "x" * 128, "x" * 129, "has space", "dot.ted", "co:lon",
           "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f", "naïve", "<script>", "line\n", "tab\t",
           "under_score", "-dash-first"]


def test_the_rules_are_the_protocols() -> None:
    assert USER_ID.matches("0123456789abcdef01234567") and USER_ID.matches("a_b-C")
    assert not USER_ID.matches("x" * 129) and not USER_ID.matches("")
    assert PROJECT_ID.matches("x" * 64) and not PROJECT_ID.matches("under_score")
    assert AVATAR_ID.matches("e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f")
    assert LANGUAGE_CODE.matches("en-US") and LANGUAGE_CODE.matches("zh_Hans")
    assert not LANGUAGE_CODE.matches("en us")
    assert not USER_ID.matches(None) and not USER_ID.matches(12)


@given(st.text(max_size=140))
def test_matches_is_a_full_match_of_the_stated_characters(text: str) -> None:
    expected = re.fullmatch(r"[A-Za-z0-9_-]{1,128}", text, flags=re.ASCII) is not None
    assert USER_ID.matches(text) == expected
    assert (USER_ID.problem(text) is None) == expected


@pytest.mark.parametrize(("rule", "validate"), [
    (PROJECT_ID, validate_project_id), (USER_ID, validate_user_id),
    (AVATAR_ID, validate_avatar_id), (LANGUAGE_CODE, validate_language)])
@pytest.mark.parametrize("value", SAMPLES)
def test_settings_follow_the_rules_and_say_them(rule, validate, value: str) -> None:
    problem = rule.problem(value)
    if problem is None:
        assert validate(value) == value
    else:
        with pytest.raises(SettingsError) as info:
            validate(value)
        assert info.value.user_message.startswith(problem)
        assert rule.shape in info.value.user_message


async def test_the_rest_client_follows_the_same_rules() -> None:
    async with aiohttp.ClientSession() as http:
        for value in SAMPLES:
            for rule, make in ((USER_ID, lambda v: RavatarClient(http, "http://127.0.0.1:9",
                                                                 "p-1", v)),
                               (PROJECT_ID, lambda v: RavatarClient(http, "http://127.0.0.1:9",
                                                                    v, "u-1"))):
                problem = rule.problem(value)
                if problem is None:
                    make(value)
                else:
                    with pytest.raises(InvalidRequestError, match=re.escape(problem)):
                        make(value)
        # The avatar id is checked before anything goes on the wire (nobody listens on port 9).
        client = RavatarClient(http, "http://127.0.0.1:9", "p-1", "u-1", token="t")
        for value in SAMPLES:
            if value.strip() and AVATAR_ID.problem(value) is not None:
                with pytest.raises(InvalidRequestError, match=re.escape(AVATAR_ID.shape)):
                    await client.start_live_session(value)
