"""`bricksort export` imports trainer.export before anything else of the trainer. A package
cycle (train -> tflite -> train) shows only when a module of the cycle is the first one
imported, which the rest of the suite never does."""
import subprocess
import sys


def test_the_export_package_imports_first_in_a_fresh_interpreter():
    result = subprocess.run([sys.executable, "-c", "import trainer.export"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def _onednn_setting_after_importing_trainer(**env: str) -> str:
    import os

    environ = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"} | env
    code = "import os, sys, trainer; print(os.environ['TF_ENABLE_ONEDNN_OPTS'], 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=environ)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def test_the_trainer_asks_for_onednn_before_tensorflow_loads_unless_the_user_said_otherwise():
    assert _onednn_setting_after_importing_trainer() == "1 False"  # set before TensorFlow reads it
    assert _onednn_setting_after_importing_trainer(TF_ENABLE_ONEDNN_OPTS="0") == "0 False"
