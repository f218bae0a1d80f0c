"""LEGO system dimensions in millimetres (the real moulds' proportions)."""

STUD_PITCH = 8.0
BRICK_HEIGHT = 9.6
PLATE_HEIGHT = 3.2
STUD_DIAMETER = 4.8
STUD_HEIGHT = 1.7
PLAY = 0.1  # each face sits 0.1 mm inside the 8 mm grid so neighbours fit
WALL = 1.2
TUBE_OUTER_DIAMETER = 6.51
TUBE_INNER_DIAMETER = 4.8
PIN_DIAMETER = 3.2
TECHNIC_HOLE_HEIGHT = 5.8  # centre of a technic hole above the brick's bottom
TECHNIC_HOLE_DIAMETER = 4.8
TECHNIC_COLLAR_DIAMETER = 6.2
AXLE_ARM_WIDTH = 1.8
