"""Transport-neutral vocabulary and rules. No network, no SQL: storage is reached through ports.py."""
