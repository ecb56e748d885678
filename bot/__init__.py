"""The bot: reads the store, computes JAZ/COP, draws charts, answers and alerts on Telegram."""
