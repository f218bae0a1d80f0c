"""The simulated world: procedural LEGO parts rendered on a virtual turntable, and `bricksort synth`."""
