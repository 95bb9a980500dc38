"""heap.freed_memory_kept: freed large blocks stay resident inside, go back outside.

Each check runs in a fresh Python process: the allocator's state is the process's, and
free heap memory that earlier work (a process history of another test) left behind may
serve a new block from the heap instead of a fresh mapping."""

import json
import os
import platform
import subprocess
import sys
import textwrap

import pytest

from thermomech.heap import _libc

glibc = platform.libc_ver()[0] == "glibc" and _libc() is not None \
    and os.path.exists("/proc/self/statm")
pytestmark = pytest.mark.skipif(not glibc, reason="glibc's malloc and /proc only")

BLOCK = 96 << 20  # bytes: above glibc's largest dynamic mmap threshold (32 MiB)

PRELUDE = f"""
import json, os
import numpy as np
from thermomech.heap import freed_memory_kept

BLOCK = {BLOCK}

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

def alive_and_freed():
    block = np.ones(BLOCK // 8)  # every page touched
    alive = resident()
    del block
    return alive, resident()

out = {{}}
"""


def run(script: str) -> dict:
    """The ``out`` dict of ``script`` (after PRELUDE) run in a fresh interpreter."""
    code = PRELUDE + textwrap.dedent(script) + "\nprint(json.dumps(out))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_a_freed_block_goes_back_by_default():
    out = run("""
        before = resident()
        out["alive"], out["freed"] = alive_and_freed()
        out["before"] = before
    """)
    assert out["alive"] - out["before"] > 0.9 * BLOCK  # mapped on its own: fresh pages
    assert out["alive"] - out["freed"] > 0.9 * BLOCK  # unmapped when freed


def test_a_freed_block_stays_inside_and_goes_back_after():
    out = run("""
        with freed_memory_kept():
            out["alive"], out["freed"] = alive_and_freed()
            block = np.ones(BLOCK // 8)  # served from the kept heap: no growth
            out["again"] = resident()
            del block
            out["inside"] = resident()
        out["after"] = resident()
        out["alive2"], out["freed2"] = alive_and_freed()
    """)
    assert out["alive"] - out["freed"] < 0.1 * BLOCK  # kept when freed
    assert out["again"] - out["freed"] < 0.1 * BLOCK
    assert out["inside"] - out["after"] > 0.9 * BLOCK  # trimmed on the way out
    assert out["alive2"] - out["freed2"] > 0.9 * BLOCK  # given back when freed again


def test_the_outermost_block_restores():
    out = run("""
        with freed_memory_kept():
            with freed_memory_kept():
                pass
            out["alive"], out["freed"] = alive_and_freed()
        out["after"] = resident()
        out["alive2"], out["freed2"] = alive_and_freed()
    """)
    assert out["alive"] - out["freed"] < 0.1 * BLOCK  # the inner exit changed nothing
    assert out["alive2"] - out["freed2"] > 0.9 * BLOCK
