"""Helpers for tests, ours and plugin authors': real throwaway servers and conformance checks.

No part of podium imports this package.
"""
