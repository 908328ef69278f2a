"""The simulated assistant's answers: deterministic, short, and always echoing what was asked."""

from __future__ import annotations

import hashlib

_GREETINGS = ("hello", "hi", "hey", "good morning", "good evening", "hallo", "hola")

_QUESTION_TEMPLATES = (
    "Good question! You asked: \u201c{q}\u201d. I'm {name}, a simulated avatar, so I can't look "
    "that up, but in a real session the RAVATAR assistant would answer it here.",
    "You'd like to know: \u201c{q}\u201d. As {name} in demo mode I can only say that I heard you "
    "clearly; a real assistant would give you the details.",
    "Let me think about \u201c{q}\u201d... I'm {name}, running on the local simulator, so here "
    "is my honest answer: I don't know, but I understood the question.",
)

_STATEMENT_TEMPLATES = (
    "Thanks for telling me: \u201c{q}\u201d. I'm {name}, the simulator's avatar. What else would "
    "you like to talk about?",
    "Got it: \u201c{q}\u201d. I'm {name}, and I'm happy to keep chatting.",
    "I hear you: \u201c{q}\u201d. Tell me more, or ask me a question.",
)


def compose_reply(text: str, avatar_name: str) -> str:
    """A friendly reply that quotes `text`; the same input always gives the same reply."""
    q = " ".join(text.split())
    if len(q) > 200:
        q = q[:197] + "..."
    if not q:
        return f"I'm {avatar_name}. I didn't catch anything there; could you say that again?"
    lowered = q.lower().strip("!.,? ")
    if any(lowered == g or lowered.startswith(g + " ") for g in _GREETINGS):
        return f"Hello! I'm {avatar_name}. You said \u201c{q}\u201d. How can I help you today?"
    digest = int.from_bytes(hashlib.sha256(q.encode("utf-8")).digest()[:4], "big")
    is_question = q.endswith("?") or lowered.split(" ", 1)[0] in {
        "what", "why", "how", "when", "where", "who", "which", "can", "could", "do", "does",
        "is", "are", "will", "would", "should"}
    templates = _QUESTION_TEMPLATES if is_question else _STATEMENT_TEMPLATES
    return templates[digest % len(templates)].format(q=q, name=avatar_name)


def voice_answer(transcript: str | None, summary: str, avatar_name: str) -> str:
    """A voice reply: the recognised utterance quoted first, as RAVATAR does (PROTOCOL.md 4).

    Without a transcript (no recogniser, or nothing recognised) the quote says plainly what
    arrived, e.g. "(1.3 s of audio, level -20 dBFS)".
    """
    if transcript:
        return f">{transcript}\n\n{compose_reply(transcript, avatar_name)}"
    return (f">({summary})\n\nI'm {avatar_name}. I received {summary} but could not make out "
            "any words. Could you try again, a little closer to the microphone?")
