"""Reading and patching SDP text: the video codecs of a description (in their order) and an
answer with a rejected media section made acceptable to aiortc.

A browser that cannot decode any offered video codec (QtWebEngine and H.264) answers the video
section with port 0. Real WebRTC stacks (Unreal's streamer) go on with audio only, which is what a
user sees as "connected but black". aiortc instead refuses the whole answer, so we rewrite each
rejected section as an inactive one that rides on the bundled transport: nothing is sent on it,
everything else connects. Pure text processing, no aiortc import.
"""

from __future__ import annotations

CRLF = "\r\n"


def _sections(sdp: str) -> tuple[list[str], list[list[str]]]:
    """(session lines, [media section lines...])."""
    session: list[str] = []
    media: list[list[str]] = []
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if not line:
            continue
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
        else:
            session.append(line)
    return session, media


def _join(session: list[str], media: list[list[str]]) -> str:
    return CRLF.join(session + [line for section in media for line in section]) + CRLF


def _is_rejected(section: list[str]) -> bool:
    parts = section[0].split()
    return len(parts) >= 2 and parts[1] == "0"


def _mid(section: list[str]) -> str | None:
    return next((line[len("a=mid:"):] for line in section if line.startswith("a=mid:")), None)


# Codecs that ride along with a real one (retransmission, redundancy, error correction).
_HELPER_CODECS = frozenset({"RTX", "RED", "ULPFEC", "FLEXFEC-03"})


def video_codecs(sdp: str) -> list[str]:
    """Names of the real video codecs in the description's video sections, in preference order
    (the m= line's payload order; upper case, e.g. ["H264", "VP8"]). Rejected sections list none."""
    _session, media = _sections(sdp)
    names: list[str] = []
    for section in media:
        if not section[0].startswith("m=video") or _is_rejected(section):
            continue
        by_payload = {}
        for line in section:
            if line.startswith("a=rtpmap:"):
                payload, _, encoding = line[len("a=rtpmap:"):].partition(" ")
                by_payload[payload] = encoding.split("/")[0].upper()
        for payload in section[0].split()[3:]:
            name = by_payload.get(payload)
            if name and name not in _HELPER_CODECS and name not in names:
                names.append(name)
    return names


def rejected_kinds(answer_sdp: str) -> list[str]:
    """Media kinds ("video", "audio") the answer rejected (port 0)."""
    _session, media = _sections(answer_sdp)
    return [section[0][2:].split()[0] for section in media if _is_rejected(section)]


_DIRECTIONS = ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive")
_CODEC_ATTRS = ("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")
# Transport lines a bundled section shares with the bundle's first section. aiortc starts ICE with
# the credentials of every section it bundles, so the rejected one must carry the live ones.
_TRANSPORT_ATTRS = ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=setup:")


def accept_rejected_sections(answer_sdp: str, offer_sdp: str) -> str:
    """The answer with every rejected section turned inactive (codecs copied from the offer,
    joined to the BUNDLE group). An answer with nothing rejected comes back unchanged."""
    session, media = _sections(answer_sdp)
    _offer_session, offer_media = _sections(offer_sdp)
    if not any(_is_rejected(s) for s in media):
        return answer_sdp
    accepted = next((sec for sec in media if not _is_rejected(sec)), None)
    transport = [line for line in accepted or [] if line.startswith(_TRANSPORT_ATTRS)]
    bundle_added: list[str] = []
    for index, section in enumerate(media):
        if not _is_rejected(section) or index >= len(offer_media):
            continue
        offered = offer_media[index]
        kind, _port, proto, *payloads = offered[0][2:].split()
        rebuilt = [f"m={kind} 9 {proto} {' '.join(payloads)}"]
        dropped = _DIRECTIONS + _CODEC_ATTRS + (_TRANSPORT_ATTRS if transport else ())
        rebuilt += [line for line in section[1:] if not line.startswith(dropped)]
        rebuilt += transport
        rebuilt.append("a=inactive")
        rebuilt += [line for line in offered if line.startswith(_CODEC_ATTRS)]
        media[index] = rebuilt
        mid = _mid(section)
        if mid is not None:
            bundle_added.append(mid)
    for i, line in enumerate(session):
        if line.startswith("a=group:BUNDLE") and bundle_added:
            present = line.split()[1:]
            session[i] = " ".join([line.split()[0], *present,
                                   *(m for m in bundle_added if m not in present)])
    return _join(session, media)
