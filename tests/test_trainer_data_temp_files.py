"""Temporary names for atomic writes into shared caches: hidden, beside the target, and never the
same for two threads (or processes, or machines) writing the same entry."""
from __future__ import annotations

import socket
import threading
from pathlib import Path

from trainer.data.temp_files import temp_beside


def test_the_temporary_name_is_hidden_beside_the_target_and_keeps_the_suffix_asked_for():
    target = Path("cache/ab/abcdef.npy")
    tmp = temp_beside(target, ".npy")
    assert tmp.parent == target.parent
    assert tmp.name.startswith(".abcdef.npy.") and tmp.name.endswith(".tmp.npy")
    assert socket.gethostname() in tmp.name  # machines sharing storage may run the same pid


def test_two_threads_writing_the_same_entry_get_different_temporary_names():
    names: list[Path] = []
    both_alive = threading.Barrier(2)  # a finished thread's id may be handed to the next one

    def name_it() -> None:
        both_alive.wait()
        names.append(temp_beside(Path("cache/x.json")))
        both_alive.wait()

    threads = [threading.Thread(target=name_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(names)) == 2
