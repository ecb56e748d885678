"""Proactive alerts: the owner hears about faults, silent sources and falling efficiency.

Functional core (`rules`, `engine`, `texts`: plain data in, plain data out) and a thin shell
(`gather` reads the store, `persist` keeps state on disk, `deliver` sends to Telegram and
Apprise, `telegram` wires commands and the periodic job into the bot).
"""
