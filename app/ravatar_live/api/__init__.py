"""RAVATAR protocol: message models, REST and WebSocket clients. No Qt."""
