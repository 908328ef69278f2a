"""Audio services: capture, resampling, PCM encoding, voice-activity detection, takes. No Qt widgets."""
