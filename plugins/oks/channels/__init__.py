"""Channels to the insurers beyond DES (docs/channels.md): one canonical submission record
(:mod:`oks.channels.record`), rendered into each insurer's upload file by a profile kept as data
(:mod:`oks.channels.profiles`, ``profiles/*.json``) — a new insurer is a profile, not code."""
