"""The simulator's speech recogniser, run as a process of its own (``transcriber.py`` starts it).

pocketsphinx holds the GIL while it decodes. In the app's process (the embedded simulator) that
starved the app's threads for seconds on a busy machine: the microphone's queue overflowed, the
window stalled, and a take's chunks arrived late enough to be cut into several utterances. In a
process of its own it takes nothing from them.

Protocol on the pipes: stdin carries requests, each a 4-byte big-endian length and that many
bytes of 16 kHz mono s16le; stdout answers each with one JSON line, ``{"text": "..."}``. The
process ends when stdin closes (its parent went away).
"""

from __future__ import annotations

import json
import sys
from typing import Any, BinaryIO

SILENCE_PAD = b"\x00\x00" * 4000  # 250 ms at 16 kHz: the decoder misses words cut at the edges
HEADER_BYTES = 4


def load_decoder() -> Any:
    """A pocketsphinx decoder for 16 kHz speech (the import and the load take ~0.5 s)."""
    import pocketsphinx  # noqa: PLC0415 - optional dependency, only ever loaded here

    pocketsphinx.set_loglevel("FATAL")
    return pocketsphinx.Decoder(samprate=16000, loglevel="FATAL")


def decode(decoder: Any, pcm: bytes) -> str:
    """The words pocketsphinx hears in `pcm` ("" for none)."""
    decoder.start_utt()
    decoder.process_raw(SILENCE_PAD + pcm + SILENCE_PAD, full_utt=False)
    decoder.end_utt()
    hyp = decoder.hyp()
    return str(hyp.hypstr).strip() if hyp is not None else ""


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until `requests` ends."""
    decoder = load_decoder()
    while True:
        header = requests.read(HEADER_BYTES)
        if len(header) < HEADER_BYTES:
            return
        pcm = requests.read(int.from_bytes(header, "big"))
        answers.write(json.dumps({"text": decode(decoder, pcm)}).encode() + b"\n")
        answers.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
