"""The simulated house: its physics (house.py), its devices answering in their own wire
formats (vitocal.py, shelly.py), their quirks and the house's problems (scenarios.py), and
`heatpump demo` (demo_cmd.py), which runs them through the real collector."""
