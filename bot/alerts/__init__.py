"""Proactive alerts: the owner hears about faults, silent sources and falling efficiency.

Functional core (`rules`, `engine`, `texts`, `commands`: plain data in, plain data out) and a
thin shell (bot.store_reads reads the store, `persist` keeps state on disk, `service` runs
one check and delivers its outbox, `deliver` sends through Apprise, `telegram` runs the check
on the bot's job queue and sends through Telegram). The commands /subscribe, /unsubscribe,
/alerts and /mute are rows of the bot's one command table (bot/commands.py).
"""
