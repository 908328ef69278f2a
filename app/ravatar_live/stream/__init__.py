"""The avatar's stream without a browser: media, no widgets (DESIGN.md "Codecs and stream players").

`stats` (the health figures both players report) is import-light. The native player itself
(`player.NativeStreamPlayer`) needs aiortc and PyAV; import it only where it is used.
"""
