"""Audio services: capture, resampling, PCM encoding, VAD, takes. No Qt widgets."""
