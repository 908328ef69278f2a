"""A local stand-in for the RAVATAR service (aiohttp), faithful to PROTOCOL.md, not to our client
(it never imports ravatar_live.api).

Entry points: `server.start_simulator(SimulatorConfig(...))` inside a running asyncio/qasync loop;
`threaded.SimulatorThread` for callers without a loop (GUI tests); `cli.main` for
`ravatar-live-simulator`.

Modules, one job each:
  config       SimulatorConfig (every field defaulted)
  server       build_app, start_simulator, RunningSimulator (stats, faults, revoke, utterances,
               the stream hooks: stream_origin, stream_players, signalling_log, wait_for_stream)
  rest         /jwt /connection /chat /startLiveSession /endLiveSession /checkActiveInstance
  chat_ws      /ws/chat: text, voice blobs, Live PCM streams, system notices
  turns        user turns and replies (barge-in numbering, voice answers, stream-mic turns)
  pixel_streaming  one Pixel Streaming instance per license on its own origin and thread:
               access, Epic's signalling, the aiortc streamer, the player page (its own docstring)
  avatar_render, avatar_voice, avatar_media  the streamed avatar: frames, espeak-ng voice, mouth
  admin        /admin/stats, /admin/faults, /admin/revoke-tokens, /admin/utterances,
               /admin/instances (no auth)
  middleware   CORS (+ preflight on every route), injected faults, JSON 404/405
  auth, licenses, faults, history, catalog, replies, audio, transcriber, utterance, net: the
               parts they share

Choices where PROTOCOL.md is silent (each also named where it is coded):
- Error bodies: /jwt `{"result": "failure", "error": id, "message": text}`; other routes
  `{"status": code, "error": text}`. Start status -1 is sent as HTTP 200 with body status -1.
- /chat history: newest first; each exchange is an "outgoing" entry (the request) and an
  "incoming" one (request + answer); a `user_id` query that is not the token's user gets 403.
- A Live PCM utterance ends on a chunk shorter than 8192 bytes or after `utterance_gap_s` with no
  chunk; a stream-microphone utterance after `utterance_gap_s` of quiet. A license idle (no chat
  message naming it, no player connected to its instance) for `license_idle_timeout_s` expires;
  its owner's chat sockets get a system notice.
- The stream instance's signalling socket admits a session cookie or a valid `?token=`.
- Replies carry `LicenseId` and `avatar_id` besides the documented fields.
"""
