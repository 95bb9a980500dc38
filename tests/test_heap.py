"""heap.freed_memory_kept: freed large blocks stay resident inside, go back outside."""

import os
import platform

import numpy as np
import pytest

from thermomech.heap import _libc, freed_memory_kept

glibc = platform.libc_ver()[0] == "glibc" and _libc() is not None \
    and os.path.exists("/proc/self/statm")
pytestmark = pytest.mark.skipif(not glibc, reason="glibc's malloc and /proc only")

BLOCK = 96 << 20  # bytes: above glibc's largest dynamic mmap threshold (32 MiB)


def resident() -> int:
    """Resident bytes of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def alive_and_freed() -> tuple[int, int]:
    """Resident bytes while a touched BLOCK is alive and after it is freed."""
    block = np.ones(BLOCK // 8)  # every page touched
    alive = resident()
    del block
    return alive, resident()


def test_a_freed_block_goes_back_by_default():
    before = resident()
    alive, freed = alive_and_freed()
    assert alive - before > 0.9 * BLOCK  # mapped on its own: fresh pages
    assert alive - freed > 0.9 * BLOCK  # unmapped when freed


def test_a_freed_block_stays_inside_and_goes_back_after():
    with freed_memory_kept():
        # from the heap (free heap memory of earlier work may serve part of it: the block
        # need not add to the resident memory), and kept when freed
        alive, freed = alive_and_freed()
        assert alive - freed < 0.1 * BLOCK
        block = np.ones(BLOCK // 8)  # served from the kept heap: no growth
        assert resident() - freed < 0.1 * BLOCK
        del block
        inside = resident()
    assert inside - resident() > 0.9 * BLOCK  # trimmed on the way out
    alive, freed = alive_and_freed()
    assert alive - freed > 0.9 * BLOCK  # defaults back


def test_the_outermost_block_restores():
    with freed_memory_kept():
        with freed_memory_kept():
            pass
        alive, freed = alive_and_freed()
        assert alive - freed < 0.1 * BLOCK  # the inner exit changed nothing
    alive, freed = alive_and_freed()
    assert alive - freed > 0.9 * BLOCK
