"""`bricksort export` imports trainer.export before anything else of the trainer. A package
cycle (train -> tflite -> train) shows only when a module of the cycle is the first one
imported, which the rest of the suite never does."""
import subprocess
import sys


def test_the_export_package_imports_first_in_a_fresh_interpreter():
    result = subprocess.run([sys.executable, "-c", "import trainer.export"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
