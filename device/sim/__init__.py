"""The simulated world's camera view: procedural LEGO parts rendered on a virtual turntable.

    from device.sim.parts import PART_IDS
    from device.sim.scene import random_brick
    from device.sim.renderer import Renderer

    rng = np.random.default_rng(0)
    brick = random_brick("3001", rng)             # colour, stable pose, place, yaw, session look
    frame = Renderer((300, 300)).render(brick, table_angle_deg=45.0, rng=rng)   # RGB uint8

Files: `dimensions` (LEGO millimetres), `mesh` (faces and their draw hierarchy), `parts`
(catalogue and poses), `posing` (resting a mesh on the table), `colors` (LEGO palette),
`look` (light, white balance, camera offsets, sensor per session), `camera` (pinhole),
`background` (the empty rig), `renderer`, `scene` (a brick), `synth` (`bricksort synth`).
"""
