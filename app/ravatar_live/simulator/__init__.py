"""A local stand-in for the RAVATAR service (aiohttp), faithful to PROTOCOL.md."""
