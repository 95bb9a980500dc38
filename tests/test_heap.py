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


def freed_and_resident() -> int:
    """Bytes still resident after a touched BLOCK is freed, against before it existed."""
    before = resident()
    block = np.ones(BLOCK // 8)  # every page touched
    assert resident() - before > 0.9 * BLOCK
    del block
    return resident() - before


def test_a_freed_block_goes_back_by_default():
    assert freed_and_resident() < 0.1 * BLOCK


def test_a_freed_block_stays_inside_and_goes_back_after():
    start = resident()
    with freed_memory_kept():
        assert freed_and_resident() > 0.9 * BLOCK
        again = resident()
        block = np.ones(BLOCK // 8)  # served from the kept heap: no growth
        assert resident() - again < 0.1 * BLOCK
        del block
    assert resident() - start < 0.1 * BLOCK  # trimmed on the way out
    assert freed_and_resident() < 0.1 * BLOCK  # defaults back


def test_the_outermost_block_restores():
    with freed_memory_kept():
        with freed_memory_kept():
            pass
        assert freed_and_resident() > 0.9 * BLOCK  # the inner exit changed nothing
    assert freed_and_resident() < 0.1 * BLOCK
