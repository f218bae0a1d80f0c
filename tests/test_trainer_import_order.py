"""Every trainer entry point imports on its own: `bricksort export` imports trainer.export
before anything else, and a package cycle (train -> tflite -> train) only shows when a
module of the cycle is the first one imported, which the rest of the suite never does."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["trainer.export", "trainer.tflite.convert"])
def test_the_module_imports_first_in_a_fresh_interpreter(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
