"""Process-instance console."""
