"""Failure tests: crashes, broker and database outages, poison messages, hostile HTTP input."""
