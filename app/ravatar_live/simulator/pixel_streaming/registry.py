"""The simulator's side of its instances: one per live license, started when the license is
granted and stopped when it ends or expires. Used on the simulator's own loop."""

from __future__ import annotations

import logging
import ssl

from ravatar_live.simulator.config import SimulatorConfig
from ravatar_live.simulator.licenses import License
from ravatar_live.simulator.pixel_streaming.availability import webrtc_enabled
from ravatar_live.simulator.pixel_streaming.instance import InstanceOwner, StreamInstance
from ravatar_live.simulator.pixel_streaming.spec import InstanceSpec, StreamSettings

log = logging.getLogger(__name__)


class InstanceRegistry:
    """Live instances by LicenseId. Set `api_base_url` (and the TLS contexts) before `start`."""

    def __init__(self, config: SimulatorConfig, owner: InstanceOwner) -> None:
        self._config = config
        self._owner = owner
        self._instances: dict[str, StreamInstance] = {}
        self.api_base_url = ""
        self.server_ssl: ssl.SSLContext | None = None
        self.api_ssl: ssl.SSLContext | None = None

    def _spec(self, lic: License, colour: str) -> InstanceSpec:
        cfg = self._config
        return InstanceSpec(
            license_id=lic.license_id, host=cfg.host, api_base_url=self.api_base_url,
            server_ssl=self.server_ssl, api_ssl=self.api_ssl, webrtc=webrtc_enabled(cfg),
            ping_interval_s=cfg.stream_ping_interval_s, mic_handshake=cfg.page_mic_handshake,
            deny_framing=cfg.deny_framing,
            stream=StreamSettings(width=lic.width, height=lic.height, colour=colour,
                                  fps=cfg.stream_fps, max_height=cfg.stream_max_height,
                                  video_codec=cfg.stream_video_codec, voice=cfg.stream_voice,
                                  mic_gap_s=cfg.utterance_gap_s))

    async def start(self, lic: License, colour: str) -> str:
        """Start the license's instance; returns its origin once it serves."""
        instance = StreamInstance(self._spec(lic, colour), self._owner)
        origin = await instance.start()
        self._instances[lic.license_id] = instance
        return origin

    async def stop(self, license_id: str) -> None:
        """Stop the license's instance, if it has one."""
        instance = self._instances.pop(license_id, None)
        if instance is not None:
            await instance.stop()

    async def stop_all(self) -> None:
        for license_id in list(self._instances):
            await self.stop(license_id)

    def get(self, license_id: str) -> StreamInstance | None:
        return self._instances.get(license_id)

    def publish(self, license_id: str, event: dict[str, object]) -> None:
        """Hand an activity event to the license's instance (nothing when it has none)."""
        instance = self._instances.get(license_id)
        if instance is not None:
            instance.publish(event)

    def describe(self) -> list[dict[str, object]]:
        """Every instance with its players (for the admin page)."""
        return [{"license_id": lid, "origin": instance.origin,
                 "streamer_id": instance.spec.streamer_id,
                 "video_codec": instance.spec.stream.video_codec if instance.spec.webrtc
                 else None,
                 "players": instance.players()}
                for lid, instance in self._instances.items()]
