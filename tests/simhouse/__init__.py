"""Tests of the simulated house (simhouse/): the physics, the Vitocal, the Shelly, scenarios."""
