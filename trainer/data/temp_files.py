"""Temporary file names for atomic writes into folders that several writers share."""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path


def temp_beside(path: Path, suffix: str = "") -> Path:
    """A hidden temporary name beside `path`, unique to this machine, process and thread: caches
    are shared by parallel threads, concurrent runs and, in a multi-worker run, by machines
    whose processes may carry the same pid (containers). Write it, then `os.replace` it onto
    `path`. `suffix` keeps the extension a writer insists on (NumPy appends .npy and .npz)."""
    return path.with_name(f".{path.name}.{socket.gethostname()}.{os.getpid()}.{threading.get_ident()}.tmp{suffix}")
