"""A blocking JSON POST for tests that talk to a simulator running on its own thread."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def post_json(url: str, body: dict[str, Any], token: str | None = None) -> Any:
    """POST `body` as JSON (with a bearer token when given) and return the decoded answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers,
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)
