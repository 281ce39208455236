"""The ``podium`` command."""
