"""Threaded sparse products: bitwise equal to SciPy's, sharing the matrix's arrays."""

import numpy as np
import pytest
import scipy.sparse as sp

from thermomech import threads
from thermomech.threads import RowSplit, map_ordered, row_block, row_bounds, thread_count


@pytest.fixture
def matrix():
    A = sp.random(3000, 3000, density=0.1, format="csr", random_state=2)
    return (A + A.T + 3000 * sp.eye(3000)).tocsr()


def test_row_block_shares_arrays(matrix):
    # SciPy's constructor copies a slice smaller than half its base ("prune"): a row
    # block must not, or every block of a split is a second copy of the matrix
    block = row_block(matrix, 100, 900)
    assert np.shares_memory(block.data, matrix.data)
    assert np.shares_memory(block.indices, matrix.indices)
    assert (block != matrix[100:900]).nnz == 0


def test_row_bounds_balance_nonzeros(matrix):
    bounds = row_bounds(matrix, 4)
    assert bounds[0] == 0 and bounds[-1] == matrix.shape[0]
    per_block = np.diff(matrix.indptr[bounds])
    assert per_block.max() - per_block.min() <= 2 * np.diff(matrix.indptr).max()


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_row_split_is_bitwise_scipy(matrix, monkeypatch, count):
    monkeypatch.setattr(threads, "MIN_NONZEROS_PER_THREAD", 1000)
    x = np.random.default_rng(0).standard_normal(matrix.shape[0])
    split = RowSplit(matrix, count)
    assert split.threads == count
    assert np.array_equal(split @ x, matrix @ x)  # same rows, same order: the same bits
    X = np.random.default_rng(1).standard_normal((matrix.shape[0], 3))
    assert np.array_equal(split.matvec(X), matrix @ X)
    assert all(np.shares_memory(b.data, matrix.data) for b in split.blocks)


def test_thread_count_from_environment(monkeypatch):
    monkeypatch.setenv("THERMOMECH_NUM_THREADS", "3")
    assert thread_count() == 3
    monkeypatch.setenv("THERMOMECH_NUM_THREADS", "")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what a study's workers set
    assert thread_count() == 1


def test_map_ordered_keeps_order():
    assert list(map_ordered(lambda i: i * i, range(20), threads=3)) == [i * i for i in range(20)]
    assert list(map_ordered(lambda i: -i, range(5), threads=1)) == [0, -1, -2, -3, -4]


def test_map_apart_keeps_the_order_of_the_items():
    """Results in the items' order whatever order they ran in; its own pool, so the
    function may use map_ordered's shared pool (no thread waits on itself)."""
    from thermomech.threads import map_apart, map_ordered

    started = []

    def work(n):
        started.append(n)
        return sum(map_ordered(lambda k: k * k, range(n), threads=2))

    items = [3, 50, 7, 20]
    expected = [sum(k * k for k in range(n)) for n in items]
    assert map_apart(work, items, 1) == expected and started == items  # one thread: in turn
    started.clear()
    assert map_apart(work, items, 2, first=lambda n: -n) == expected
    assert sorted(started) == sorted(items)
