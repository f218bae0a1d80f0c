"""Fault injection on the virtual serial line: bit errors, lost bytes, slow replies."""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultConfig:
    """What goes wrong on the wire, per direction.

    Corruption flips one random bit of a byte, the way line noise damages a UART frame;
    a dropped byte never arrives. Fractions are per byte, in [0, 1).

    Marlin's XOR checksum catches any single damaged byte in a line but not two bytes
    with the same bit flipped: at 5 % independent noise about 1.8 % of 16-byte lines
    carry such a pair, and real Marlin would run them. `one_fault_per_line` keeps faults
    isolated (after a damaged or lost byte the rest of that line passes intact), the
    regime the protocol is designed for; turn it off to see the checksum's limit.
    """

    corrupt_to_host: float = 0.0
    corrupt_to_firmware: float = 0.0
    drop_to_host: float = 0.0
    drop_to_firmware: float = 0.0
    reply_delay_s: float = 0.0  # wall-clock delay before each reply line leaves the firmware
    one_fault_per_line: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("corrupt_to_host", "corrupt_to_firmware", "drop_to_host", "drop_to_firmware"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"fault {name} must be a fraction in [0, 1), got {value!r}")
        if self.reply_delay_s < 0:
            raise ValueError(f"fault reply_delay_s must be >= 0, got {self.reply_delay_s!r}")

    @property
    def any_byte_faults(self) -> bool:
        """True when any direction corrupts or drops bytes."""
        return any((self.corrupt_to_host, self.corrupt_to_firmware, self.drop_to_host, self.drop_to_firmware))


class ByteFaults:
    """Applies one direction's corruption and loss to byte chunks, reproducibly per seed."""

    def __init__(self, corrupt: float, drop: float, rng: random.Random, one_fault_per_line: bool) -> None:
        self._corrupt = corrupt
        self._drop = drop
        self._rng = rng
        self._one_fault_per_line = one_fault_per_line
        self._line_damaged = False

    def apply(self, data: bytes) -> bytes:
        """The bytes as they arrive at the far end."""
        if not (self._corrupt or self._drop):
            return data
        out = bytearray()
        for byte in data:
            if self._one_fault_per_line and self._line_damaged:
                # The rest of a damaged line passes intact; only a line end that arrives
                # closes it (a damaged line end merges it with the next one).
                out.append(byte)
                self._line_damaged = byte != 0x0A
                continue
            roll = self._rng.random()
            if roll < self._drop:
                self._line_damaged = True
            elif roll < self._drop + self._corrupt:
                self._line_damaged = True
                out.append(byte ^ (1 << self._rng.randrange(8)))
            else:
                out.append(byte)
        return bytes(out)


def byte_faults_pair(config: FaultConfig) -> tuple[ByteFaults, ByteFaults]:
    """(to_firmware, to_host) fault appliers; each direction has its own seeded generator
    because the two run on different threads."""
    seeds = (None, None) if config.seed is None else (2 * config.seed, 2 * config.seed + 1)
    return (
        ByteFaults(config.corrupt_to_firmware, config.drop_to_firmware, random.Random(seeds[0]), config.one_fault_per_line),
        ByteFaults(config.corrupt_to_host, config.drop_to_host, random.Random(seeds[1]), config.one_fault_per_line),
    )
