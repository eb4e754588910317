"""Hearth's core: plain Python, no Qt. Everything here runs and is tested headless."""
