"""Reusable dashboard widgets, one per module."""
