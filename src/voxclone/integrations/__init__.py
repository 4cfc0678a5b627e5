"""Bridges from voxclone to other frameworks. Each is an optional extra; nothing in the core
imports them."""
