"""podium: from a table to a served, continuously retrained model."""

__version__ = "0.1.0"
