"""A Marlin 2.1 stand-in behind a pseudo-terminal, for tests, the demo and fault injection."""
from firmware_bridge.virtual_marlin.faults import FaultConfig
from firmware_bridge.virtual_marlin.firmware import FirmwareSettings
from firmware_bridge.virtual_marlin.motion import ExecutedMove
from firmware_bridge.virtual_marlin.pty_server import VirtualMarlin

__all__ = ["ExecutedMove", "FaultConfig", "FirmwareSettings", "VirtualMarlin"]
