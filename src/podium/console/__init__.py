"""The console: the control plane's admin HTTP API under ``/api`` and the web app that uses it.

``podium console`` serves ``create_app`` over a project folder. It uses the registry,
automation, data and training parts; no part below it imports it.
"""

from __future__ import annotations

from podium.console.app import ConsoleOptions, create_app, serve

__all__ = ["ConsoleOptions", "create_app", "serve"]
