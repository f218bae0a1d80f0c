"""Getting the brick off the table into its bin: chute, push, look, push once more, else alarm."""
from __future__ import annotations

from typing import Protocol


class TableNotClearError(OSError):
    """The brick is still on the table after the push and its retries: the rig needs a person."""


class EjectRig(Protocol):
    """What ejection needs of the rig (`firmware_bridge.rig.Rig` provides it)."""

    def select_bin(self, index: int) -> None: ...

    def push(self) -> None: ...

    def wait_for_moves(self) -> None: ...


class TableWatcher(Protocol):
    """What ejection needs of the camera side (`device.sort.eyes.Eyes` provides it)."""

    def table_clear(self) -> bool: ...


def eject(rig: EjectRig, eyes: TableWatcher, bin_index: int, retries: int = 1) -> int:
    """Turn the chute to `bin_index` and push until the table is clear; returns the pushes used.

    Raises TableNotClearError when the table is still occupied after 1 + `retries` pushes."""
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    rig.select_bin(bin_index)
    for attempt in range(1, retries + 2):
        rig.push()
        rig.wait_for_moves()  # M400: look only once the pusher is back
        if eyes.table_clear():
            return attempt
    raise TableNotClearError(
        f"the table is not clear after {retries + 1} pushes into bin {bin_index}: brick jammed, sorting stopped"
    )
