"""The structured fast path: assembly on meshes of axis-aligned box cells.

On a box cell of sizes h = (h_x, h_y, h_z) and volume V, a term with derivatives in
directions p and q scales as V / (h_p h_q); a term without derivatives as V. So each cell
matrix is a sum of fixed reference matrices on the unit cell (``fem.unit_cell``: every
Lagrange element, Hex1, Hex2, HexS2, Quad1, Quad2, and their vector versions), times cell
sizes and material constants. The global matrix is one COO build, chunked to bound
memory. The result equals scikit-fem's generic assembly to round-off.

Requires cells with the vertex order of ``meshing`` (every mesh our mesher makes).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import skfem

from ..meshing import MeshedPackage, face_areas
from .space import Space, element_grid
from .unit_cell import element_key, mixed_reference, reference

CHUNK_ENTRIES = 16_000_000
"""Matrix entries assembled per chunk. Measured, Q1 heat at 1.36M cells: 40M entries 4.05 s
and 1.79 GiB peak, 16M 3.24 s and 1.38 GiB, 8M 3.56 s and 1.44 GiB."""

VOIGT_3D = {(0, 0): 0, (1, 1): 1, (2, 2): 2, (1, 2): 3, (2, 1): 3, (0, 2): 4, (2, 0): 4,
            (0, 1): 5, (1, 0): 5}
"""Voigt index of a strain component in 3D: xx, yy, zz, yz, xz, xy."""
VOIGT_2D = {(0, 0): 0, (1, 1): 1, (0, 1): 2, (1, 0): 2}
"""Voigt index in 2D (the mesh's (x, z) coordinates): xx, zz, xz."""


def _stress_tensor(stress: np.ndarray) -> np.ndarray:
    """(dim, dim, ...) tensor components sigma_ap of Voigt stresses (nv, ...)."""
    dim = 3 if stress.shape[0] == 6 else 2
    voigt = VOIGT_3D if dim == 3 else VOIGT_2D
    return np.array([[stress[voigt[(a, p)]] for p in range(dim)] for a in range(dim)])


def _vector_load(package, basis, local: np.ndarray) -> np.ndarray:
    """Scatter (dim, nloc_scalar, cells) component loads of a vector basis -> (N,)."""
    dim = local.shape[0]
    flat = local.transpose(1, 0, 2).reshape(dim * local.shape[1], -1)  # local dof s*dim + a
    return np.bincount(basis.element_dofs.ravel(), weights=flat.ravel(), minlength=basis.N)


def assemble_stress_load(package, basis, stress: np.ndarray) -> np.ndarray:
    """∫ eps(v) . s for a vector basis and a stress-like density s (nv, cells) uniform in
    each cell (Voigt order of ``assemble_elasticity``, Pa) -> (N,) load (N, or N/m in 2D).

    On a box cell ∫ dv_a/dx_p = V / h_p ∫_unit dphi/dxi_p, so the load is
    sum_{a,p} sigma_ap V / h_p R_p placed on component a.
    """
    scalar = reference(element_key(basis.elem.elem))
    sizes = package.cell_sizes
    scale = np.prod(sizes, axis=0) / sizes  # (dim, cells): V / h_p
    sigma = _stress_tensor(np.asarray(stress, dtype=float)) * scale[None]  # (a, p, cells)
    local = np.einsum("apc,ps->asc", sigma, scalar["grad_load"])
    return _vector_load(package, basis, local)


def assemble_stress_load_field(package, basis, stress_rate: np.ndarray,
                               stress_offset: np.ndarray, temperature_basis,
                               temperature: np.ndarray, cells: np.ndarray | None = None
                               ) -> np.ndarray:
    """∫ eps(v) . s with s = stress_rate T(x) + stress_offset in each cell, T a field.

    stress_rate (nv, cells) Pa/K and stress_offset (nv, cells) Pa per cell (an affine thermal
    stress: CTE constant in the cell); temperature : (N_T,) degC on the scalar
    ``temperature_basis`` of the same mesh; cells : the cells to assemble (default all; the
    rate and offset are then given for these cells only) -> (N,) load.
    """
    cells = np.arange(package.ncells) if cells is None else np.asarray(cells)
    key = element_key(basis.elem.elem)
    scalar = reference(key)
    mixed = mixed_reference(key, element_key(temperature_basis.elem))  # (p, s, j)
    sizes = package.cell_sizes[:, cells]
    scale = np.prod(sizes, axis=0) / sizes  # (dim, cells)
    rate = _stress_tensor(np.asarray(stress_rate, dtype=float)) * scale[None]
    offset = _stress_tensor(np.asarray(stress_offset, dtype=float)) * scale[None]
    nodal = temperature[temperature_basis.element_dofs[:, cells]]  # (j, cells)
    weighted = np.einsum("psj,jc->psc", mixed, nodal)  # ∫ dphi_s/dxi_p T on the unit cell
    local = (np.einsum("apc,psc->asc", rate, weighted)
             + np.einsum("apc,ps->asc", offset, scalar["grad_load"]))
    dim = local.shape[0]
    flat = local.transpose(1, 0, 2).reshape(dim * local.shape[1], -1)
    return np.bincount(basis.element_dofs[:, cells].ravel(), weights=flat.ravel(),
                       minlength=basis.N)


def _cell_data(package: MeshedPackage, basis, cells: np.ndarray | None = None):
    """(sizes (dim, cells), volumes (cells,), dofs (nloc, cells)) of all cells or ``cells``."""
    sizes = package.cell_sizes  # (dim, cells)
    if cells is None:
        return sizes, np.prod(sizes, axis=0), basis.element_dofs
    sizes = sizes[:, cells]
    return sizes, np.prod(sizes, axis=0), basis.element_dofs[:, cells]


def _coo_chunks(dofs: np.ndarray, coefficients: np.ndarray, references: np.ndarray,
                n: int) -> sp.csr_matrix:
    """sum over cells c and terms t of coefficients[c, t] * references[t] placed at dofs[:, c].

    coefficients: (cells, terms); references: (terms, nloc, nloc); dofs: (nloc, cells).
    """
    nloc = dofs.shape[0]
    flat = references.reshape(references.shape[0], nloc * nloc)
    index_type = np.int32 if n < 2**31 - 1 else np.int64
    rows_local = np.repeat(np.arange(nloc), nloc)
    cols_local = np.tile(np.arange(nloc), nloc)
    chunk = max(1, CHUNK_ENTRIES // (nloc * nloc))
    total = None
    for start in range(0, dofs.shape[1], chunk):
        sl = slice(start, start + chunk)
        data = coefficients[sl] @ flat  # (cells, nloc*nloc)
        d = dofs[:, sl].astype(index_type)
        rows = d[rows_local].T.ravel()
        cols = d[cols_local].T.ravel()
        part = sp.csr_matrix((data.ravel(), (rows, cols)), shape=(n, n))
        total = part if total is None else total + part
    return total


def _scalar_grid(package: MeshedPackage, basis):
    """The tensor grid of a scalar basis's dofs on a mesh of our mesher, else None: the
    space's own (cached) grid; computed here only for a plain scikit-fem basis."""
    if isinstance(basis, Space):
        return None if isinstance(basis.elem, skfem.ElementVector) else basis.grid
    axes = getattr(package, "axes", None)
    if axes is None or len(axes) != package.dimension or isinstance(
            basis.elem, skfem.ElementVector):
        return None
    return element_grid(axes, package.cell_index, package.mesh, basis.elem,
                        element_dofs=basis.element_dofs)


def _assemble(package, basis, dofs: np.ndarray, coefficients: np.ndarray,
              references: np.ndarray) -> sp.csr_matrix:
    """``_coo_chunks`` for scalar bases, written straight into CSR on the mesh's tensor grid
    when there is one (:mod:`grid_assembly`: half the time of the COO build and no triplet
    arrays; measured Q1 heat, 1.31M unknowns: 1.5-1.8 s against 3.0-3.5 s)."""
    grid = _scalar_grid(package, basis)
    if grid is None:
        return _coo_chunks(dofs, coefficients, references, basis.N)
    from .grid_assembly import assemble_on_grid

    every = np.arange(basis.N, dtype=np.int64)
    return assemble_on_grid(dofs, coefficients, references, grid, every, every, basis.N,
                            basis.N)


def assemble_diffusion(package, basis, conductivity: np.ndarray) -> sp.csr_matrix:
    """Stiffness of ∫ sum_p k_p du/dx_p dv/dx_p with per-cell, per-axis k.

    conductivity : (dim, cells) W/(m K) (axis-aligned orthotropic), or (cells,) isotropic.
    """
    return _assemble(package, basis, *diffusion_terms(package, basis, conductivity))


def diffusion_terms(package, basis, conductivity: np.ndarray, cells: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dofs (nloc, cells), coefficients (cells, dim), references (dim, nloc, nloc)) of the
    diffusion matrix of all cells or of ``cells`` only (``conductivity`` then given for
    those cells): the input of ``grid_assembly.assemble_on_grid``."""
    ref = reference(element_key(basis.elem))
    sizes, volume, dofs = _cell_data(package, basis, cells)
    k = np.broadcast_to(conductivity, sizes.shape)
    coefficients = (k * volume / sizes**2).T  # (cells, dim)
    diagonal = np.array([ref["grad"][p, p] for p in range(ref["dim"])])
    return dofs, coefficients, diagonal


def assemble_mass(package, basis, coefficient: np.ndarray) -> sp.csr_matrix:
    """∫ c u v with per-cell c, shape (cells,) (e.g. rho * cp in J/(m^3 K))."""
    ref = reference(element_key(basis.elem))
    _, volume, dofs = _cell_data(package, basis)
    return _assemble(package, basis, dofs, (coefficient * volume)[:, None], ref["mass"][None])


def assemble_source(package, basis, density: np.ndarray) -> np.ndarray:
    """∫ q v with per-cell q, shape (cells,) (W/m^3) -> (N,) load vector (W)."""
    ref = reference(element_key(basis.elem))
    heated = np.flatnonzero(density)  # powers are in a few parts (dies)
    _, volume, dofs = _cell_data(package, basis, heated)
    return np.bincount(dofs.ravel(), weights=(ref["load"][:, None] * (
        np.asarray(density)[heated] * volume)).ravel(), minlength=basis.N)


def assemble_boundary_mass(package, basis, faces, coefficient) -> sp.csr_matrix:
    """∫_faces h u v; ``coefficient`` scalar or (faces,) (e.g. h in W/(m^2 K)). Per side,
    over that face's dofs only (no zero couplings assembled: 0.2 -> 0.12 s at 1.31M)."""
    ref = reference(element_key(basis.elem))
    scale = np.broadcast_to(coefficient, (len(faces),)) * face_areas(package, faces)
    out = None
    for side in np.unique(faces.sides):
        on, local = faces.sides == side, ref["face_dofs"][side]
        M = _assemble(package, basis, basis.element_dofs[np.ix_(local, faces.cells[on])],
                      scale[on][:, None], ref["face_mass"][side][np.ix_(local, local)][None])
        out = M if out is None else out + M
    return sp.csr_matrix((basis.N, basis.N)) if out is None else out


def assemble_boundary_load(package, basis, faces, values) -> np.ndarray:
    """∫_faces g v; ``values`` scalar or (faces,) (e.g. heat flux W/m^2) -> (N,)."""
    ref = reference(element_key(basis.elem))
    dofs = basis.element_dofs[:, faces.cells]
    scale = np.broadcast_to(values, (len(faces),)) * face_areas(package, faces)
    local = ref["face_load"][faces.sides].T * scale  # (nloc, faces)
    return np.bincount(dofs.ravel(), weights=local.ravel(), minlength=basis.N)


def face_dofs(basis, faces, component: int | None = None) -> np.ndarray:
    """Unique global dofs on ``faces`` (of one vector ``component`` if given)."""
    ref = reference(element_key(basis.elem))
    out = []
    for side in np.unique(faces.sides):
        local = ref["face_dofs"][side]
        if component is not None:
            local = local[ref["component"][local] == component]
        out.append(basis.element_dofs[np.ix_(local, faces.cells[faces.sides == side])].ravel())
    return np.unique(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)


def full_stiffness_tensor(stiffness: np.ndarray) -> np.ndarray:
    """(cells, dim, dim, dim, dim) C_apbq from (cells, nv, nv) Voigt matrices."""
    nv = stiffness.shape[-1]
    dim = 3 if nv == 6 else 2
    voigt = VOIGT_3D if dim == 3 else VOIGT_2D
    index = np.array([[voigt[(a, p)] for p in range(dim)] for a in range(dim)])
    return stiffness[:, index[:, :, None, None], index[None, None, :, :]]


def assemble_elasticity(package, basis, stiffness: np.ndarray) -> sp.csr_matrix:
    """∫ eps(v) : D eps(u) for a vector basis; ``stiffness`` (cells, nv, nv) Voigt, Pa.

    3D Voigt order xx, yy, zz, yz, xz, xy; 2D (the mesh's (x, z) coordinates) xx, zz, xz;
    engineering shear strains.
    """
    coefficients, references, dofs = _elasticity_terms(package, basis, stiffness)
    return _coo_chunks(dofs, coefficients, references, basis.N)


LEAN_CHUNK_ENTRIES = 80_000_000
"""Entries per chunk of the lean assembly (~20 bytes each of work arrays; measured on 1.1M
HexS2 unknowns: 40M -> 16.7 s, 80M -> 12.8 s, 160M -> 16.6 s, peak 4.3 / 4.3 / 6.1 GiB)."""


def _coo_chunks_local_major(dofs: np.ndarray, coefficients: np.ndarray,
                            references: np.ndarray, n: int) -> sp.csr_matrix:
    """``_coo_chunks`` with the entries laid out local-pair-major: the product
    ``references^T @ coefficients^T`` is (nloc*nloc, cells) and its rows line up with
    ``dofs[rows_local]`` as computed, so no transposed copies of the data or the indices are
    made (less time and memory; equal to ``_coo_chunks`` up to the order of the sums)."""
    nloc = dofs.shape[0]
    flat_t = np.ascontiguousarray(references.reshape(references.shape[0], nloc * nloc).T)
    index_type = np.int32 if n < 2**31 - 1 else np.int64
    rows_local = np.repeat(np.arange(nloc), nloc)
    cols_local = np.tile(np.arange(nloc), nloc)
    chunk = max(1, LEAN_CHUNK_ENTRIES // (nloc * nloc))
    pending: list[tuple[int, sp.csr_matrix]] = []  # (level, sum of 2**level chunks)
    for start in range(0, dofs.shape[1], chunk):
        sl = slice(start, start + chunk)
        data = flat_t @ np.ascontiguousarray(coefficients[sl].T)  # (nloc*nloc, cells)
        d = dofs[:, sl].astype(index_type)
        part = sp.coo_matrix((data.ravel(), (d[rows_local].ravel(), d[cols_local].ravel())),
                             shape=(n, n)).tocsr()
        del data, d
        # binary-counter (pairwise) summation: O(nnz log chunks) work, not O(nnz chunks)
        level = 0
        while pending and pending[-1][0] == level:
            part = pending.pop()[1] + part
            level += 1
        pending.append((level, part))
    total = pending.pop()[1]
    while pending:
        total = pending.pop()[1] + total
    return total


def _elasticity_terms(package, basis, stiffness: np.ndarray, cells: np.ndarray | None = None):
    """(coefficients (cells, dim^4), references (dim^4, nloc, nloc), dofs (nloc, cells)) of
    all cells or of ``cells`` only (``stiffness`` then given for those cells)."""
    ref = reference(element_key(basis.elem))
    sizes, volume, dofs = _cell_data(package, basis, cells)
    dim = ref["dim"]
    C = full_stiffness_tensor(np.asarray(stiffness, dtype=float))  # (cells, a, p, b, q)
    scale = volume[:, None, None] / (sizes.T[:, :, None] * sizes.T[:, None, :])  # (cells, p, q)
    coefficients = (C * scale[:, None, :, None, :]).reshape(len(volume), dim**4)
    del C
    return coefficients, ref["vgrad"].reshape(dim**4, ref["nloc"], ref["nloc"]), dofs


def elasticity_terms(package, basis, stiffness: np.ndarray, cells: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dofs, coefficients, references) of the elasticity matrix of all cells or of
    ``cells`` (``stiffness`` (cells, nv, nv) for those): ``diffusion_terms``' order."""
    coefficients, references, dofs = _elasticity_terms(package, basis, stiffness, cells)
    return dofs, coefficients, references


def assemble_elasticity_lean(package, basis, stiffness: np.ndarray) -> sp.csr_matrix:
    """``assemble_elasticity`` with less time and memory per chunk (the same matrix up to
    round-off: only the order of the floating-point sums differs)."""
    coefficients, references, dofs = _elasticity_terms(package, basis, stiffness)
    return _coo_chunks_local_major(dofs, coefficients, references, basis.N)


PRODUCT_CHUNK_CELLS = 2000
"""Cells per chunk of ``elasticity_product`` (81 x 60 x 2000 doubles: 78 MB for HexS2)."""


def elasticity_product(package, basis, stiffness: np.ndarray, u: np.ndarray,
                       cells: np.ndarray) -> np.ndarray:
    """(N,) ``K_cells u`` of ∫ eps(v) : D eps(u) over ``cells`` only, without a matrix: the
    reference matrices applied cell by cell (``stiffness`` (len(cells), nv, nv) Voigt, Pa,
    for those cells). Equal to the assembled matrix of those cells times ``u`` up to the
    order of the sums; the cost is that of the cells, not of the mesh."""
    ref = reference(element_key(basis.elem))
    dim = ref["dim"]
    cells = np.asarray(cells)
    sizes = package.cell_sizes[:, cells]
    volume = np.prod(sizes, axis=0)
    dofs = basis.element_dofs[:, cells]
    references = ref["vgrad"].reshape(dim**4, ref["nloc"], ref["nloc"])
    out = np.zeros(basis.N)
    for start in range(0, len(cells), PRODUCT_CHUNK_CELLS):
        sl = slice(start, start + PRODUCT_CHUNK_CELLS)
        C = full_stiffness_tensor(np.asarray(stiffness[sl], dtype=float))
        scale = volume[sl, None, None] / (sizes[:, sl].T[:, :, None] * sizes[:, sl].T[:, None, :])
        coefficients = (C * scale[:, None, :, None, :]).reshape(-1, dim**4)
        applied = np.einsum("kij,jc->kic", references, u[dofs[:, sl]])
        local = np.einsum("ck,kic->ic", coefficients, applied)
        out += np.bincount(dofs[:, sl].ravel(), weights=local.ravel(), minlength=basis.N)
    return out


def elasticity_blocks(package, basis, stiffness: np.ndarray, grid, free: np.ndarray,
                      fixed: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(K[free][:, free], K[fixed])`` of the elasticity matrix, assembled straight into
    those blocks on the tensor ``grid`` of the dofs (:mod:`grid_assembly`): the full K is
    never built. ``free`` may come in any order (the block is numbered in it); ``fixed`` rows
    keep all columns in the dofs' own numbering. Equal to ``condense(assemble_elasticity)``
    up to the order of the floating-point sums."""
    from .grid_assembly import assemble_on_grid

    coefficients, references, dofs = _elasticity_terms(package, basis, stiffness)
    n = basis.N
    new = np.full(n, -1, dtype=np.int64)
    new[free] = np.arange(len(free))
    block = assemble_on_grid(dofs, coefficients, references, grid, new, new, len(free),
                             len(free))
    rows = np.full(n, -1, dtype=np.int64)
    rows[fixed] = np.arange(len(fixed))
    fixed_rows = assemble_on_grid(dofs, coefficients, references, grid, rows,
                                  np.arange(n, dtype=np.int64), len(fixed), n)
    return block, fixed_rows


def elasticity_operator(package, basis, stiffness: np.ndarray, grid, free: np.ndarray,
                        fixed: np.ndarray):
    """``elasticity_blocks`` with the free block as a matrix-free
    :class:`cell_operator.CellOperator` (one dense matrix per class of equal cells; the
    multigrid's line blocks and linear level come from the cells): the fine matrix is never
    stored. The fixed rows are assembled (only the cells that hold fixed dofs)."""
    from .cell_operator import CellOperator
    from .grid_assembly import assemble_on_grid

    coefficients, references, dofs = _elasticity_terms(package, basis, stiffness)
    n = basis.N
    new = np.full(n, -1, dtype=np.int64)
    new[free] = np.arange(len(free))
    operator = CellOperator(dofs, coefficients, references, new, len(free), grid)
    rows = np.full(n, -1, dtype=np.int64)
    rows[fixed] = np.arange(len(fixed))
    fixed_rows = assemble_on_grid(dofs, coefficients, references, grid, rows,
                                  np.arange(n, dtype=np.int64), len(fixed), n)
    return operator, fixed_rows
