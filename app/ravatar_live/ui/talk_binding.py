"""Talking and typing: the talk bar, the push-to-talk key, the composer and the conversation,
bound to the chat and voice services.

A voice take shows the user's bubble as soon as it is sent (its words follow with the reply); a
hold too short to send says so; a reply and a notice are announced to screen readers.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QWidget

from ravatar_live.live.controller import AppController
from ravatar_live.live.error_kinds import ErrorKind
from ravatar_live.ui.announcer import Announcer
from ravatar_live.ui.conversation import Role
from ravatar_live.ui.conversation_panel import ConversationPanel
from ravatar_live.ui.keyboard import PushToTalkKey
from ravatar_live.ui.talk_bar import TalkBar
from ravatar_live.ui.window_banners import WindowBanners

AUDIO_FLOWS = ("listening", "speech", "recording")


class TalkBinding(QObject):
    def __init__(self, controller: AppController, talk_bar: TalkBar, panel: ConversationPanel,
                 banners: WindowBanners, *, announcer: Announcer,
                 refresh: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = controller
        self._bar = talk_bar
        self._panel = panel
        self._banners = banners
        self._announcer = announcer
        self._refresh = refresh
        self.push_to_talk = PushToTalkKey(controller.settings.push_to_talk_key, self)
        self.push_to_talk.pressed.connect(talk_bar.begin_talk)
        self.push_to_talk.released.connect(talk_bar.end_talk)
        # The key that works in any app drives the same take as the button (tap rule included).
        controller.global_talk.pressed.connect(talk_bar.begin_talk)
        controller.global_talk.released.connect(talk_bar.end_talk)
        talk_bar.tap_s = controller.voice.controller.settings.tap_s
        self._bind_chat()
        self._bind_voice()
        self.show_push_to_talk_key(controller.settings.push_to_talk_key)
        self.fill_microphones()

    def _bind_chat(self) -> None:
        c, conversation = self._c, self._panel.conversation
        c.chat.user_turn.connect(conversation.add_user_turn)
        c.chat.avatar_turn.connect(conversation.add_avatar_turn)
        c.chat.notice.connect(conversation.add_notice)
        c.chat.send_failed.connect(self._on_send_failed)
        conversation.message_added.connect(self._on_message_added)
        self._panel.send_button.clicked.connect(self.send_message)
        self._panel.message_edit.returnPressed.connect(self.send_message)
        self._panel.message_edit.textChanged.connect(self._on_typing)

    def _bind_voice(self) -> None:
        c, bar = self._c, self._bar
        c.voice.state_changed.connect(self._on_voice_state)
        c.voice.level_changed.connect(bar.meter.set_level)
        c.voice.failed.connect(self._on_voice_failed)
        c.voice.hands_free_changed.connect(bar.set_hands_free)
        c.voice.muted_changed.connect(bar.set_muted)
        c.voice.echo_protection_changed.connect(bar.set_echo_protection)
        c.voice.take_sent.connect(self._on_take_sent)
        # Hold, record and the microphone go to the voice route in use (live.talk_router);
        # the stream page's route reports its own state and, with the native player, levels.
        c.page_mic.state_changed.connect(self._on_voice_state)
        c.native_mic.level_changed.connect(bar.meter.set_level)
        c.native_mic.failed.connect(self._on_voice_failed)
        bar.talk_pressed.connect(c.talk.press)
        bar.talk_released.connect(c.talk.release)
        bar.record_toggled.connect(self._on_record_toggled)
        bar.hands_free_toggled.connect(c.voice.set_hands_free)
        bar.microphone_chosen.connect(c.talk.set_device)
        bar.mute_toggled.connect(c.voice.set_muted)
        bar.hint_shown.connect(self._announcer.announce)
        bar.set_hands_free(c.voice.hands_free)
        bar.set_muted(c.voice.muted)
        bar.set_echo_protection(c.voice.echo_protection)

    def watch_keys(self, window: QWidget) -> None:
        """Let the push-to-talk key work anywhere in `window` (call once it is built)."""
        self.push_to_talk.watch(window)

    def show_push_to_talk_key(self, key: str) -> None:
        self.push_to_talk.set_key(key)
        self._bar.set_push_to_talk_key(self.push_to_talk.key_text)

    # ------------------------------------------------------------------ typing
    @Slot()
    def send_message(self) -> None:
        edit = self._panel.message_edit
        text = edit.text().strip()
        if not text or not edit.isEnabled():
            return
        self._c.chat.send_text(text)
        edit.clear()

    @Slot(str)
    def _on_typing(self, _text: str) -> None:
        self._refresh()

    @Slot(str, str)
    def _on_send_failed(self, _kind: str, message: str) -> None:
        self._banners.on_send_failed(message)

    @Slot(str, str)
    def _on_message_added(self, role: str, text: str) -> None:
        if role == Role.AVATAR.value:
            self._announcer.announce(f"{self._panel.conversation.avatar_name} says: {text}")
        elif role == Role.NOTICE.value:
            self._announcer.announce(f"Notice: {text}")

    # ------------------------------------------------------------------ voice
    @Slot(str)
    def _on_voice_state(self, state: str) -> None:
        self._bar.set_voice_state(state)
        if state in AUDIO_FLOWS:
            self._banners.on_voice_working()

    @Slot(bool)
    def _on_take_sent(self, _streamed: bool) -> None:
        self._panel.conversation.add_pending_voice_turn()

    @Slot(str, str)
    def _on_voice_failed(self, kind: str, message: str) -> None:
        title = self._banners.show_voice_problem(kind, message)
        self._bar.show_problem(title)
        if kind == ErrorKind.NO_MICROPHONE:
            self._bar.set_no_microphone()

    @Slot(bool)
    def _on_record_toggled(self, start: bool) -> None:
        if start:
            self._c.talk.start_recording()
        else:
            self._c.talk.stop_recording()

    def fill_microphones(self) -> None:
        devices = self._c.voice.devices()
        if devices:
            self._bar.set_devices(devices, self._c.settings.microphone_id)
        else:
            self._bar.set_no_microphone()
