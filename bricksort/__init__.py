"""The `bricksort` application: one console command wiring trainer, device and firmware_bridge."""
