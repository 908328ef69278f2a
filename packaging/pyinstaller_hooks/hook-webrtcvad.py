"""Overrides the contrib hook, which asks for metadata of a `webrtcvad` distribution.

We install the `webrtcvad-wheels` distribution (same module, prebuilt wheels); its metadata is what
`webrtcvad.__version__` reads at import time, and the contrib hook's lookup fails the whole build.
"""

from PyInstaller.utils.hooks import copy_metadata

datas = copy_metadata("webrtcvad-wheels")
