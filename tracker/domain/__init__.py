"""The tracker's pure rules: the case state machine, the SLA clock and the figures; no I/O, no framework."""
