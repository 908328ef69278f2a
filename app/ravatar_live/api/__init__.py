"""RAVATAR protocol: message models, REST and WebSocket clients. No Qt.

    client = RavatarClient(http, "https://chat.rvtr.ai", project_id, user_id)
    info = await client.connection()
    async with client.chat_socket() as sock:
        live = await client.start_live_session(info.live_avatars[0].id, StreamSize(1280, 720))
        await sock.send(text_message(ChatContext(...,  license_id=live.license_id), "Hi"))
        async for message in sock.messages(): ...
        await client.end_live_session(live.license_id)
"""

from ravatar_live.api.errors import RavatarError, describe_error
from ravatar_live.api.models import (
    ChatContext,
    ConnectionInfo,
    LiveSessionInfo,
    ServerMessage,
    StreamSize,
    parse_server_message,
)
from ravatar_live.api.rest import RavatarClient
from ravatar_live.api.urls import stream_url_with_token, ws_url_from_api
from ravatar_live.api.ws import ChatSocket

__all__ = [
    "ChatContext",
    "ChatSocket",
    "ConnectionInfo",
    "LiveSessionInfo",
    "RavatarClient",
    "RavatarError",
    "ServerMessage",
    "StreamSize",
    "describe_error",
    "parse_server_message",
    "stream_url_with_token",
    "ws_url_from_api",
]
