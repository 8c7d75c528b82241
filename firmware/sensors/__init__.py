# Drivers: one chip (or meter) each, bus passed in, readings in SI units.
