"""Import order, tried in fresh interpreters as the rest of the suite never can: `bricksort
export` imports trainer.export before anything else of the trainer (a package cycle, train ->
tflite -> train, shows only when a module of the cycle is the first one imported), and the
trainer asks for oneDNN before TensorFlow loads, or says when TensorFlow came first."""
import os
import platform
import subprocess
import sys


def test_the_export_package_imports_first_in_a_fresh_interpreter():
    result = subprocess.run([sys.executable, "-c", "import trainer.export"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def _fresh_python(code: str, **env: str) -> str:
    """What `code` prints in a fresh interpreter whose TF_ENABLE_ONEDNN_OPTS is only what `env` sets."""
    environ = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"} | env
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=environ)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def _onednn_setting_after_importing_trainer(**env: str) -> str:
    return _fresh_python("import os, sys, trainer; print(os.environ['TF_ENABLE_ONEDNN_OPTS'], 'tensorflow' in sys.modules)", **env)


def test_the_trainer_asks_for_onednn_before_tensorflow_loads_unless_the_user_said_otherwise():
    assert _onednn_setting_after_importing_trainer() == "1 False"  # set before TensorFlow reads it
    assert _onednn_setting_after_importing_trainer(TF_ENABLE_ONEDNN_OPTS="0") == "0 False"


def _import_trainer_after(first: str, **env: str) -> tuple[bool, bool]:
    """(oneDNN on, the slow-kernels warning given) when `first` runs before `import trainer`."""
    code = (
        f"import warnings; {first}\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import trainer\n"
        "from tensorflow.python.util import _pywrap_util_port\n"
        "print(_pywrap_util_port.IsMklEnabled(), any('oneDNN' in str(w.message) for w in caught))"
    )
    onednn, warned = _fresh_python(code, **env).split()
    return onednn == "True", warned == "True"


def test_tensorflow_imported_first_with_its_fast_kernels_off_gets_a_warning_saying_what_to_do():
    # On CPUs where TensorFlow turns oneDNN on by itself (AVX-512 VNNI) there is nothing to warn of.
    onednn, warned = _import_trainer_after("import keras")
    assert warned == (not onednn and platform.machine().lower() in ("x86_64", "amd64"))


def test_no_warning_when_the_trainer_comes_first_or_the_user_chose():
    assert _import_trainer_after("pass")[1] is False
    assert _import_trainer_after("import keras", TF_ENABLE_ONEDNN_OPTS="0") == (False, False)
