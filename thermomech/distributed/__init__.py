"""One model across MPI ranks: ``mpiexec -n N thermomech run MODEL --backend petsc``.

:mod:`.partition` (cells and dofs to ranks, NumPy only), :mod:`.system` (halo rows to their
owners, the PETSc matrix and Krylov solve), :mod:`.solves` (heat and warpage returning the
serial result types), :mod:`.command` (the CLI's run on every rank; rank 0 writes) and
:mod:`.mpi` (mpi4py and petsc4py imported lazily; how ranks fail). Importing this package
imports neither mpi4py nor petsc4py: docs/mpi.md.
"""
