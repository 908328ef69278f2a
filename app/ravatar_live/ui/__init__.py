"""Widgets and dialogs; they talk to services through signals and slots."""
