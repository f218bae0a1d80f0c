"""How long a stepper move takes under a trapezoidal velocity profile.

Shared by the rig (to compute the mechanical bound of a sort cycle) and the virtual
Marlin (to time the moves it simulates), so both agree by construction.
"""
from __future__ import annotations

import math


def trapezoid_move_time(distance: float, speed: float, acceleration: float) -> float:
    """Seconds to travel `distance` units from rest to rest.

    `speed` is the cruise speed in units/s and `acceleration` in units/s^2. Short moves
    never reach cruise speed and follow a triangular profile instead.
    """
    if speed <= 0 or acceleration <= 0:
        raise ValueError(f"speed and acceleration must be positive, got {speed} and {acceleration}")
    distance = abs(distance)
    if distance == 0:
        return 0.0
    ramp_distance = speed * speed / acceleration  # accelerating plus decelerating
    if distance <= ramp_distance:
        return 2.0 * math.sqrt(distance / acceleration)
    return 2.0 * speed / acceleration + (distance - ramp_distance) / speed
