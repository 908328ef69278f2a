"""RAVATAR Live: a desktop client for RAVATAR 3D avatars in Live Mode."""

__version__ = "0.1.0"
APP_ID = "ai.rvtr.RavatarLive"
APP_NAME = "RAVATAR Live"
