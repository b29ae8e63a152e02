"""The pure core: plain data and functions, no I/O, no clock, no framework."""
