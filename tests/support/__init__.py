"""Helpers the tests share (not shipped with the app)."""
