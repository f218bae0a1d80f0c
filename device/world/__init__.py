"""The digital twin of the rig: simulated bricks on a virtual turntable, driven by the virtual Marlin.

`SimulatedWorld` holds the brick on the table and the bins' contents; it follows the virtual
Marlin's executed moves (turntable angle, chute position, pusher strokes). A `Feeder` puts
the next brick (known part) on the empty table. `SimCamera` (camera kind `sim`) renders what
is on the table at the angle the turntable holds right now. `DigitalTwin` wires all of it
to a virtual Marlin on a pseudo-terminal, so the sort loop talks to it exactly as to a rig.
"""
