"""A local stand-in for the RAVATAR service (aiohttp), faithful to PROTOCOL.md, not to our client
(it never imports ravatar_live.api).

Entry points: `server.start_simulator(SimulatorConfig(...))` inside a running asyncio/qasync loop;
`threaded.SimulatorThread` for callers without a loop (GUI tests); `cli.main` for
`ravatar-live-simulator`.

Modules, one job each:
  config       SimulatorConfig (every field defaulted)
  server       build_app, start_simulator, RunningSimulator (stats, faults, revoke, utterances)
  rest         /jwt /connection /chat /startLiveSession /endLiveSession, avatar icons
  chat_ws      /ws/chat: text, WAV blobs, Live PCM streams, system notices
  stream_page  /stream/<LicenseId> page + /stream/<LicenseId>/events feed; static/ holds its assets
  webrtc_support  whether the page gets WebRTC (aiortc optional) + signalling on the events feed
  webrtc_stream   aiortc peer: avatar video track (avatar_render) + voice track (avatar_voice,
                  espeak-ng), driven by avatar_media; sdp_rejects keeps an H.264-only offer alive
  admin        /admin/stats, /admin/faults, /admin/revoke-tokens, /admin/utterances (no auth)
  middleware   CORS (+ preflight on every route), injected faults, JSON 404/405
  auth, licenses, faults, history, catalog, replies, audio, transcriber: the parts they share

Choices where PROTOCOL.md is silent (each also named where it is coded):
- Error bodies: /jwt `{"result": "failure", "error": id, "message": text}`; other routes
  `{"status": code, "error": text}`. Start status -1 is sent as HTTP 200 with body status -1.
- /chat history: newest first; each exchange is an "outgoing" entry (the request) and an
  "incoming" one (request + answer); a `user_id` query that is not the token's user gets 403.
- A Live PCM utterance ends on a chunk shorter than 8192 bytes or after `utterance_gap_s` with no
  chunk. A license idle (no chat message naming it, no stream page connected) for
  `license_idle_timeout_s` expires; its owner's chat sockets get a system notice.
- Replies carry `LicenseId` and `avatar_id` besides the documented fields.
"""
