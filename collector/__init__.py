"""The collector: polls meter and heat pump, does the energy accounting, writes the store."""
