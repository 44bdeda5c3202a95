"""Numba kernels of :mod:`solvers.multigrid.transfer` (one pass over the fine grid each)."""

from __future__ import annotations

from numba import prange

from problems._numba import jit


@jit
def restrict_1d(r, out):
    for i in range(out.shape[0]):
        out[i] = 0.5 * r[2 * i + 1] + 0.25 * (r[2 * i] + r[2 * i + 2])


@jit
def prolong_add_1d(e, u):
    m = e.shape[0]
    for i in range(m):
        u[2 * i + 1] += e[i]
        left = e[i - 1] if i > 0 else 0.0
        u[2 * i] += 0.5 * (left + e[i])
    u[2 * m] += 0.5 * e[m - 1]


def _make_restrict_2d(parallel):
    loop = prange if parallel else range

    def restrict_2d(r, out):
        mx, my = out.shape
        for i in loop(mx):
            a, b, c = 2 * i, 2 * i + 1, 2 * i + 2
            for j in range(my):
                s, t, v = 2 * j, 2 * j + 1, 2 * j + 2
                out[i, j] = (
                    4.0 * r[b, t]
                    + 2.0 * (r[a, t] + r[c, t] + r[b, s] + r[b, v])
                    + (r[a, s] + r[c, s] + r[a, v] + r[c, v])
                ) * 0.0625

    return jit(restrict_2d, parallel=parallel)


def _make_prolong_add_2d(parallel):
    loop = prange if parallel else range

    def prolong_add_2d(e, u):
        mx, my = e.shape
        nx, ny = u.shape
        for i in loop(nx):
            # The fine row i interpolates coarse rows lo and hi with weights wlo, whi.
            if i % 2 == 1:
                lo, hi, wlo, whi = (i - 1) // 2, (i - 1) // 2, 1.0, 0.0
            else:
                lo, hi, wlo, whi = i // 2 - 1, i // 2, 0.5, 0.5
            for j in range(ny):
                if j % 2 == 1:
                    jl, jh, vl, vh = (j - 1) // 2, (j - 1) // 2, 1.0, 0.0
                else:
                    jl, jh, vl, vh = j // 2 - 1, j // 2, 0.5, 0.5
                acc = 0.0
                if lo >= 0 and lo < mx:
                    if jl >= 0 and jl < my:
                        acc += wlo * vl * e[lo, jl]
                    if jh >= 0 and jh < my and vh != 0.0:
                        acc += wlo * vh * e[lo, jh]
                if hi >= 0 and hi < mx and whi != 0.0:
                    if jl >= 0 and jl < my:
                        acc += whi * vl * e[hi, jl]
                    if jh >= 0 and jh < my and vh != 0.0:
                        acc += whi * vh * e[hi, jh]
                u[i, j] += acc

    return jit(prolong_add_2d, parallel=parallel)


restrict_2d = _make_restrict_2d(False)
restrict_2d_parallel = _make_restrict_2d(True)
prolong_add_2d = _make_prolong_add_2d(False)
prolong_add_2d_parallel = _make_prolong_add_2d(True)


# -- non-nested grids: a sparse (CSR) matrix applied along one axis of a 2D array -----
@jit(parallel=True)
def csr_along_rows(indptr, indices, data, x, out, scale):
    """``out += scale M x`` (``M`` in CSR, applied along axis 0 of ``x``)."""
    for i in prange(out.shape[0]):
        for k in range(indptr[i], indptr[i + 1]):
            w = scale * data[k]
            src = x[indices[k]]
            for j in range(out.shape[1]):
                out[i, j] += w * src[j]


@jit(parallel=True)
def csr_along_columns(indptr, indices, data, x, out, scale):
    """``out += scale x M^T`` (``M`` in CSR, applied along axis 1 of ``x``)."""
    for i in prange(x.shape[0]):
        row = x[i]
        for jj in range(out.shape[1]):
            s = 0.0
            for k in range(indptr[jj], indptr[jj + 1]):
                s += data[k] * row[indices[k]]
            out[i, jj] += scale * s
