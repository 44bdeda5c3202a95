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


@jit
def _prolong_row(urow, lo, hi, wlo, whi):
    """``urow += `` the linear interpolation of the coarse row ``wlo lo + whi hi``."""
    prev = 0.0 * wlo  # the coarse value left of J (zero at the boundary)
    for J in range(lo.shape[0]):
        cur = wlo * lo[J] + whi * hi[J]
        urow[2 * J] += 0.5 * (prev + cur)
        urow[2 * J + 1] += cur
        prev = cur
    urow[2 * lo.shape[0]] += 0.5 * prev


def _make_prolong_add_2d(parallel):
    loop = prange if parallel else range

    def prolong_add_2d(e, u):
        """``u += P e``: fine row ``2I + 1`` takes coarse row ``I``, row ``2I`` the mean of
        rows ``I - 1`` and ``I`` (zero beyond the boundary); one pass over ``u``."""
        mx = e.shape[0]
        for i in loop(u.shape[0]):
            if i % 2 == 1:
                _prolong_row(u[i], e[(i - 1) // 2], e[(i - 1) // 2], 1.0, 0.0)
            elif i == 0:
                _prolong_row(u[i], e[0], e[0], 0.5, 0.0)
            elif i == 2 * mx:
                _prolong_row(u[i], e[mx - 1], e[mx - 1], 0.5, 0.0)
            else:
                _prolong_row(u[i], e[i // 2 - 1], e[i // 2], 0.5, 0.5)

    return jit(prolong_add_2d, parallel=parallel)


@jit
def _residual_row(out, up, cur, down, f, ax, ay, c, i, ihx2, ihy2, variable):
    """Row ``i`` of ``f - A u`` into ``out`` (``up``/``down``: rows ``i -+ 1`` or zeros)."""
    ny = cur.shape[0]
    if not variable:
        wx = ax[0, 0] * ihx2
        wy = ay[0, 0] * ihy2
        d = 2.0 * wx + 2.0 * wy + c[0, 0]
        if ny == 1:
            out[0] = f[0] - (d * cur[0] - wx * (up[0] + down[0]))
            return
        out[0] = f[0] - (d * cur[0] - wx * (up[0] + down[0]) - wy * cur[1])
        for j in range(1, ny - 1):
            out[j] = f[j] - (d * cur[j] - wx * (up[j] + down[j]) - wy * (cur[j - 1] + cur[j + 1]))
        m = ny - 1
        out[m] = f[m] - (d * cur[m] - wx * (up[m] + down[m]) - wy * cur[m - 1])
        return
    aw = ax[i]
    ae = ax[i + 1]
    ayr = ay[i]
    cr = c[i]
    for j in range(ny):
        uc = cur[j]
        south = cur[j - 1] if j > 0 else 0.0
        north = cur[j + 1] if j < ny - 1 else 0.0
        au = (aw[j] * (uc - up[j]) - ae[j] * (down[j] - uc)) * ihx2
        au += (ayr[j] * (uc - south) - ayr[j + 1] * (north - uc)) * ihy2
        out[j] = f[j] - (au + cr[j] * uc)


@jit
def _fine_residual_row(out, u, f, ax, ay, c, i, ihx2, ihy2, variable, zeros):
    nx = u.shape[0]
    up = u[i - 1] if i > 0 else zeros
    down = u[i + 1] if i < nx - 1 else zeros
    _residual_row(out, up, u[i], down, f[i], ax, ay, c, i, ihx2, ihy2, variable)


@jit
def _residual_restrict_block(u, f, ax, ay, c, ihx2, ihy2, variable, out, work, b, nb):
    """Coarse rows of block ``b``: fine residual rows ``2I .. 2I + 2`` into three row
    buffers (the last reused as the next ``2I``), weighted ``1, 2, 1`` down the
    columns and then ``1, 2, 1`` along the row, ``/ 16``."""
    mx, my = out.shape
    start = b * mx // nb
    stop = (b + 1) * mx // nb
    if start >= stop:
        return
    zeros = work[0]
    ra = work[1 + 4 * b]
    rb = work[2 + 4 * b]
    rc = work[3 + 4 * b]
    v = work[4 + 4 * b]
    _fine_residual_row(ra, u, f, ax, ay, c, 2 * start, ihx2, ihy2, variable, zeros)
    for i in range(start, stop):
        _fine_residual_row(rb, u, f, ax, ay, c, 2 * i + 1, ihx2, ihy2, variable, zeros)
        _fine_residual_row(rc, u, f, ax, ay, c, 2 * i + 2, ihx2, ihy2, variable, zeros)
        for j in range(v.shape[0]):
            v[j] = ra[j] + 2.0 * rb[j] + rc[j]
        o = out[i]
        for J in range(my):
            o[J] = (v[2 * J] + 2.0 * v[2 * J + 1] + v[2 * J + 2]) * 0.0625
        ra, rc = rc, ra


def _make_residual_restrict_2d(parallel):
    loop = prange if parallel else range

    def residual_restrict_2d(u, f, ax, ay, c, ihx2, ihy2, variable, out, work):
        """``out = R (f - A u)`` (full weighting) in one pass, the fine residual never
        stored; ``work`` has ``1 + 4 nb`` rows of the fine width (row 0 zeros)."""
        nb = (work.shape[0] - 1) // 4
        for b in loop(nb):
            _residual_restrict_block(u, f, ax, ay, c, ihx2, ihy2, variable, out, work, b, nb)

    return jit(residual_restrict_2d, parallel=parallel)


@jit
def residual_restrict_1d(u, f, ax, c, ih2, variable, out):
    """``out = R (f - A u)`` in 1D, one pass."""
    n = u.shape[0]
    w = ax[0] * ih2
    prev = 0.0
    for i in range(n):
        left = u[i - 1] if i > 0 else 0.0
        right = u[i + 1] if i < n - 1 else 0.0
        uc = u[i]
        if variable:
            au = (ax[i] * (uc - left) - ax[i + 1] * (right - uc)) * ih2 + c[i] * uc
        else:
            au = (2.0 * w + c[0]) * uc - w * (left + right)
        r = f[i] - au
        if i % 2 == 1:
            out[i // 2] = 0.25 * prev + 0.5 * r
        else:
            if i > 0:
                out[i // 2 - 1] += 0.25 * r
            prev = r


residual_restrict_2d = _make_residual_restrict_2d(False)
residual_restrict_2d_parallel = _make_residual_restrict_2d(True)
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
