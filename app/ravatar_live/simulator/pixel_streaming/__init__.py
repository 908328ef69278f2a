"""One Pixel Streaming instance per live license, on its own origin, thread and asyncio loop.

`streamingUrl` is the instance's root. It behaves like RAVATAR's build of Epic's stream web
server (PROTOCOL.md section 3): token check against the API (`POST /checkActiveInstance`), a
session cookie, the redirect chain to a black `/forbidden` page, Epic's signalling on a WebSocket
at `/`, and an aiortc streamer per player that offers video (H.264 only by default, like Unreal),
Opus audio both ways (the avatar's voice out, the player's microphone in) and a data channel.

Modules, one job each:
  registry      the simulator's side: start/stop an instance per license, publish activity
  instance      StreamInstance (the thread and its loop) and OwnerLink (the way back)
  server        the instance's aiohttp routes: pages, redirects, assets, signalling upgrade
  access        token check against the API, session cookies
  signalling    Epic's signalling protocol for one player's socket
  players       the players and the signalling log, readable from other threads
  streamer      one player's aiortc peer (codecs, answer, trickled ICE, the avatar, the mic)
  tracks        the avatar's video and voice as paced aiortc tracks
  microphone    the player's microphone cut into utterances
  sdp           SDP reading (codec order) and the rejected-section rewrite
  page          the player page, the forbidden page, static assets (static/)
  spec          what an instance is told when it starts
  availability  whether aiortc is there (the canvas page otherwise)
"""
