"""RAVATAR protocol: message models, REST and WebSocket clients. No Qt.

Import the modules themselves (`api.rest`, `api.ws`, ...): this package loads none of them,
so what needs only `api.ids` (the command line) does not pull in aiohttp before the window.

    client = RavatarClient(http, "https://chat.rvtr.ai", project_id, user_id)
    info = await client.connection()
    async with client.chat_socket() as sock:
        live = await client.start_live_session(info.live_avatars[0].id, StreamSize(1280, 720))
        await sock.send(text_message(ChatContext(...,  license_id=live.license_id), "Hi"))
        async for message in sock.messages(): ...
        await client.end_live_session(live.license_id)
"""
