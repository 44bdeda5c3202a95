r"""Numba kernels of the relaxation methods (private; see :mod:`solvers.relaxation`).

Every kernel works *in place* on ``u`` and runs ``sweeps`` sweeps of

.. math::

    u_p \leftarrow (1 - \omega)\, u_p + \frac{\omega}{d_p}
        \Big(f_p + \sum_{q \sim p} w_{pq}\, u_q\Big)

over the points ``p`` in the method's order (Jacobi: all at once; Gauss-Seidel:
lexicographic, C order; red-black: the points with ``i + j`` even, then the
rest), where ``d_p`` is the diagonal of ``A`` and ``w_pq = a_{pq} / h^2`` the
(negated) off-diagonal couplings of :class:`problems.Operator`: ``a`` at the
face between ``p`` and ``q``. Values outside the interior are zero (boundary
data live in ``f``).

Arguments shared by the kernels: ``u`` (C-contiguous float64, updated in
place), ``rhs`` (``f``), the operator's face coefficients ``ax`` (shape
``(nx + 1, ny)``; 1D ``(n + 1,)``) and ``ay`` (``(nx, ny + 1)``), ``dinv`` the
inverse of the diagonal ``1 / d`` (the residual kernels take the shift ``c``
instead), ``ihx2 = 1 / hx^2``, ``ihy2 = 1 / hy^2``, the weight ``omega`` and
``variable``: ``False`` reads the coefficients once (``ax[0, 0]``, ``ay[0, 0]``,
``dinv[0, 0]``) and moves only ``u`` and ``f`` through memory, 24 bytes per point
and sweep; ``True`` reads them at every point (``dinv`` precomputed, so there is
no division and few enough arrays for the compiler to vectorise Jacobi).
``work`` is a scratch array the caller allocates once per shape (its row 0 must
stay zero).

Bandwidth (the point of the layout; figures in ``benchmarks/relaxation.py``):

* Jacobi is done in place with two row buffers holding the old values of
  the rows above and at the current one, so one sweep reads ``u`` and ``f``
  once and writes ``u`` once, and no second grid is needed. In parallel the
  rows are cut into one block per thread; the old first and last row of each
  block are saved beforehand (a "halo"), so blocks never read a neighbour's
  new values.
* Red-black updates the red points of row ``i`` and then the black points
  of row ``i - 1`` in the same pass (their red neighbours are all new by
  then), so each row comes from memory once per sweep instead of twice. In
  parallel, the black points of each block's first and last row wait for a
  second, tiny pass: they need red values of the neighbouring block.
* Lexicographic Gauss-Seidel is a first-order recurrence along a row,
  ``u_j = t_j + k_j u_{j-1}``, with ``t_j`` independent of the new values; it
  is written so that only a multiply and an add lie on the recurrence.

Kernels are compiled through :func:`problems._numba.jit` (cached on disk)
and built by small factories (serial or ``prange``) where both are needed.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from problems._numba import jit

# -- 2D row updates -------------------------------------------------------------
# Row i of u; `up`/`down` are the rows i - 1 / i + 1 (a row of zeros at the
# boundary). Coefficients: a at west faces ax[i], east faces ax[i + 1], south
# and north faces ay[i, j] and ay[i, j + 1].


@jit
def _var_jacobi_value(f, up, down, aw, ae, ayr, dr, j, south, north, ihx2, ihy2):
    """``(f + sum_q w_q u_q) / d`` at column ``j`` of a row (``dr``: ``1 / d``)."""
    s = f[j] + (aw[j] * up[j] + ae[j] * down[j]) * ihx2
    return (s + (ayr[j] * south + ayr[j + 1] * north) * ihy2) * dr[j]


@jit
def _jacobi_row(out, up, cur, down, f, ax, ay, dinv, i, ihx2, ihy2, omega, variable):
    """Jacobi update of row ``i`` into ``out`` from old rows ``up``, ``cur``, ``down``."""
    ny = cur.shape[0]
    keep = 1.0 - omega
    if not variable:
        wx = ax[0, 0] * ihx2
        wy = ay[0, 0] * ihy2
        di = dinv[0, 0]
        if ny == 1:
            out[0] = keep * cur[0] + omega * ((f[0] + wx * (up[0] + down[0])) * di)
            return
        out[0] = keep * cur[0] + omega * ((f[0] + wx * (up[0] + down[0]) + wy * cur[1]) * di)
        for j in range(1, ny - 1):
            out[j] = keep * cur[j] + omega * (
                (f[j] + wx * (up[j] + down[j]) + wy * (cur[j - 1] + cur[j + 1])) * di
            )
        m = ny - 1
        out[m] = keep * cur[m] + omega * ((f[m] + wx * (up[m] + down[m]) + wy * cur[m - 1]) * di)
        return
    aw = ax[i]
    ae = ax[i + 1]
    ayr = ay[i]
    dr = dinv[i]
    if ny == 1:
        v = _var_jacobi_value(f, up, down, aw, ae, ayr, dr, 0, 0.0, 0.0, ihx2, ihy2)
        out[0] = keep * cur[0] + omega * v
        return
    v = _var_jacobi_value(f, up, down, aw, ae, ayr, dr, 0, 0.0, cur[1], ihx2, ihy2)
    out[0] = keep * cur[0] + omega * v
    for j in range(1, ny - 1):
        v = _var_jacobi_value(f, up, down, aw, ae, ayr, dr, j, cur[j - 1], cur[j + 1], ihx2, ihy2)
        out[j] = keep * cur[j] + omega * v
    m = ny - 1
    v = _var_jacobi_value(f, up, down, aw, ae, ayr, dr, m, cur[m - 1], 0.0, ihx2, ihy2)
    out[m] = keep * cur[m] + omega * v


@jit
def _colour_row(u, rhs, ax, ay, dinv, i, start, ihx2, ihy2, omega, zeros, variable, tmp):
    """Gauss-Seidel update of the points ``j = start, start + 2, ...`` of row ``i``.

    Variable coefficients: the weighted Jacobi value of the *whole* row goes into the
    row buffer ``tmp`` by the unit-stride loop of Jacobi (which vectorises), and only
    every other value is stored. The points of the other colour are computed for
    nothing, but twice the arithmetic in SIMD lanes beats a scalar stride-2 loop
    (the values of this colour need only the other colour's, so they are the
    Gauss-Seidel ones).
    """
    nx, ny = u.shape
    cur = u[i]
    up = u[i - 1] if i > 0 else zeros
    down = u[i + 1] if i < nx - 1 else zeros
    f = rhs[i]
    keep = 1.0 - omega
    if not variable:
        wx = ax[0, 0] * ihx2
        wy = ay[0, 0] * ihy2
        odinv = omega * dinv[0, 0]
        if ny == 1:
            if start == 0:
                cur[0] = keep * cur[0] + (f[0] + wx * (up[0] + down[0])) * odinv
            return
        if start == 0:
            cur[0] = keep * cur[0] + (f[0] + wx * (up[0] + down[0]) + wy * cur[1]) * odinv
        # Literal loop starts let the compiler see that j - 1 >= 0 (no index wraparound).
        if start == 0:
            for j in range(2, ny - 1, 2):
                cur[j] = (
                    keep * cur[j]
                    + (f[j] + wx * (up[j] + down[j]) + wy * (cur[j - 1] + cur[j + 1])) * odinv
                )
        else:
            for j in range(1, ny - 1, 2):
                cur[j] = (
                    keep * cur[j]
                    + (f[j] + wx * (up[j] + down[j]) + wy * (cur[j - 1] + cur[j + 1])) * odinv
                )
        m = ny - 1
        if (m & 1) == start:
            cur[m] = keep * cur[m] + (f[m] + wx * (up[m] + down[m]) + wy * cur[m - 1]) * odinv
        return
    _jacobi_row(tmp, up, cur, down, f, ax, ay, dinv, i, ihx2, ihy2, omega, True)
    for j in range(start, ny, 2):
        cur[j] = tmp[j]


@jit
def _red_black_rows(u, rhs, ax, ay, dinv, i, ihx2, ihy2, omega, zeros, variable, parity, tmp):
    """The first colour's points of row ``i`` and the second's of row ``i - 1`` (``i >= 1``).

    The first colour is red (``i + j`` even) for ``parity = 0`` and black for ``1``.

    Constant coefficients: one pass along ``j`` updates red ``(i, j)`` and then black
    ``(i - 1, j)``, whose red neighbours ``(i - 2, j)``, ``(i - 1, j -+ 1)`` and
    ``(i, j)`` are all new by then, so the rows are streamed once.
    """
    start = (i + parity) & 1
    if variable:
        _colour_row(u, rhs, ax, ay, dinv, i, start, ihx2, ihy2, omega, zeros, True, tmp)
        _colour_row(u, rhs, ax, ay, dinv, i - 1, start, ihx2, ihy2, omega, zeros, True, tmp)
        return
    nx, ny = u.shape
    if ny == 1:
        _colour_row(u, rhs, ax, ay, dinv, i, start, ihx2, ihy2, omega, zeros, False, tmp)
        _colour_row(u, rhs, ax, ay, dinv, i - 1, start, ihx2, ihy2, omega, zeros, False, tmp)
        return
    cur = u[i]
    up = u[i - 1]
    down = u[i + 1] if i < nx - 1 else zeros
    upup = u[i - 2] if i >= 2 else zeros
    f = rhs[i]
    g = rhs[i - 1]
    keep = 1.0 - omega
    wx = ax[0, 0] * ihx2
    wy = ay[0, 0] * ihy2
    odinv = omega * dinv[0, 0]
    # Literal loop starts let the compiler see that j - 1 >= 0 (no index wraparound).
    if start == 0:
        cur[0] = keep * cur[0] + (f[0] + wx * (up[0] + down[0]) + wy * cur[1]) * odinv
        up[0] = keep * up[0] + (g[0] + wx * (upup[0] + cur[0]) + wy * up[1]) * odinv
        for j in range(2, ny - 1, 2):
            cur[j] = (
                keep * cur[j]
                + (f[j] + wx * (up[j] + down[j]) + wy * (cur[j - 1] + cur[j + 1])) * odinv
            )
            up[j] = (
                keep * up[j]
                + (g[j] + wx * (upup[j] + cur[j]) + wy * (up[j - 1] + up[j + 1])) * odinv
            )
    else:
        for j in range(1, ny - 1, 2):
            cur[j] = (
                keep * cur[j]
                + (f[j] + wx * (up[j] + down[j]) + wy * (cur[j - 1] + cur[j + 1])) * odinv
            )
            up[j] = (
                keep * up[j]
                + (g[j] + wx * (upup[j] + cur[j]) + wy * (up[j - 1] + up[j + 1])) * odinv
            )
    m = ny - 1
    if (m & 1) == start:
        cur[m] = keep * cur[m] + (f[m] + wx * (up[m] + down[m]) + wy * cur[m - 1]) * odinv
        up[m] = keep * up[m] + (g[m] + wx * (upup[m] + cur[m]) + wy * up[m - 1]) * odinv


@jit
def _gauss_seidel_row(u, rhs, ax, ay, dinv, i, lo, hi, ihx2, ihy2, omega, zeros, variable, forward):
    r"""Lexicographic Gauss-Seidel (SOR) update of row ``i``, columns ``lo <= j < hi``.

    Forward (left to right): ``u_j = t_j + k_j u_{j-1}`` with
    ``t_j = (1 - omega) u_j + omega (f_j + w_W u^{new}_{i-1,j} + w_E u_{i+1,j}
    + w_N u_{j+1}) / d_j`` and ``k_j = omega w_S / d_j``: only the multiply-add on
    ``u_{j-1}`` is serial. The column left of ``lo`` must hold new values already,
    the one at ``hi`` old ones (backward: the mirror image).
    """
    nx, ny = u.shape
    cur = u[i]
    up = u[i - 1] if i > 0 else zeros
    down = u[i + 1] if i < nx - 1 else zeros
    f = rhs[i]
    keep = 1.0 - omega
    if not variable:
        wx = ax[0, 0] * ihx2
        wy = ay[0, 0] * ihy2
        odinv = omega * dinv[0, 0]
        k = wy * odinv
        k2 = k * k
        # Two points per step: u_{j+1} = (t_{j+1} + k t_j) + k^2 u_{j-1} halves the serial
        # multiply-add chain (the same values up to rounding).
        if forward:
            s = cur[lo - 1] if lo > 0 else 0.0
            end = min(hi + 1, ny)
            j = lo
            while j + 2 < end:
                t0 = keep * cur[j] + (f[j] + wx * (up[j] + down[j]) + wy * cur[j + 1]) * odinv
                t1 = (
                    keep * cur[j + 1]
                    + (f[j + 1] + wx * (up[j + 1] + down[j + 1]) + wy * cur[j + 2]) * odinv
                )
                cur[j] = t0 + k * s
                s = (t1 + k * t0) + k2 * s
                cur[j + 1] = s
                j += 2
            while j < hi:
                north = cur[j + 1] if j + 1 < ny else 0.0
                s = (keep * cur[j] + (f[j] + wx * (up[j] + down[j]) + wy * north) * odinv) + k * s
                cur[j] = s
                j += 1
        else:
            s = cur[hi] if hi < ny else 0.0
            end = max(lo - 1, 0)
            j = hi - 1
            while j - 2 >= end:
                t0 = keep * cur[j] + (f[j] + wx * (up[j] + down[j]) + wy * cur[j - 1]) * odinv
                t1 = (
                    keep * cur[j - 1]
                    + (f[j - 1] + wx * (up[j - 1] + down[j - 1]) + wy * cur[j - 2]) * odinv
                )
                cur[j] = t0 + k * s
                s = (t1 + k * t0) + k2 * s
                cur[j - 1] = s
                j -= 2
            while j >= lo:
                south = cur[j - 1] if j > 0 else 0.0
                s = (keep * cur[j] + (f[j] + wx * (up[j] + down[j]) + wy * south) * odinv) + k * s
                cur[j] = s
                j -= 1
        return
    aw = ax[i]
    ae = ax[i + 1]
    ayr = ay[i]
    dr = dinv[i]
    if forward:
        s = cur[lo - 1] if lo > 0 else 0.0
        for j in range(lo, min(hi, ny - 1)):
            odinv = omega * dr[j]
            t = f[j] + (aw[j] * up[j] + ae[j] * down[j]) * ihx2 + ayr[j + 1] * cur[j + 1] * ihy2
            s = (keep * cur[j] + t * odinv) + (ayr[j] * ihy2 * odinv) * s
            cur[j] = s
        if hi == ny:
            j = ny - 1
            odinv = omega * dr[j]
            t = f[j] + (aw[j] * up[j] + ae[j] * down[j]) * ihx2
            cur[j] = (keep * cur[j] + t * odinv) + (ayr[j] * ihy2 * odinv) * s
    else:
        s = cur[hi] if hi < ny else 0.0
        for j in range(hi - 1, max(lo, 1) - 1, -1):
            odinv = omega * dr[j]
            t = f[j] + (aw[j] * up[j] + ae[j] * down[j]) * ihx2 + ayr[j] * cur[j - 1] * ihy2
            s = (keep * cur[j] + t * odinv) + (ayr[j + 1] * ihy2 * odinv) * s
            cur[j] = s
        if lo == 0:
            odinv = omega * dr[0]
            t = f[0] + (aw[0] * up[0] + ae[0] * down[0]) * ihx2
            cur[0] = (keep * cur[0] + t * odinv) + (ayr[1] * ihy2 * odinv) * s


@jit
def _residual_row(out, up, cur, down, f, ax, ay, c, i, ihx2, ihy2, variable, store):
    """Row ``i`` of ``f - A u`` (stored in ``out`` when ``store``); returns its squared norm."""
    ny = cur.shape[0]
    acc = 0.0
    if not variable:
        wx = ax[0, 0] * ihx2
        wy = ay[0, 0] * ihy2
        d = 2.0 * wx + 2.0 * wy + c[0, 0]
        for j in range(ny):
            south = cur[j - 1] if j > 0 else 0.0
            north = cur[j + 1] if j < ny - 1 else 0.0
            r = f[j] - (d * cur[j] - wx * (up[j] + down[j]) - wy * (south + north))
            acc += r * r
            if store:
                out[j] = r
        return acc
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
        r = f[j] - (au + cr[j] * uc)
        acc += r * r
        if store:
            out[j] = r
    return acc


@jit
def _copy_row(dst, src):
    for j in range(src.shape[0]):
        dst[j] = src[j]


@jit
def _jacobi_block(u, rhs, ax, ay, dinv, ihx2, ihy2, omega, variable, work, b, nb):
    """One Jacobi sweep over the rows of block ``b`` (of ``nb``), in place.

    ``work`` rows: 0 zeros; ``1 + 4 b`` and ``2 + 4 b`` this block's two row
    buffers; ``3 + 4 b`` / ``4 + 4 b`` the old first / last row of block ``b``
    (saved by the caller before any block starts).
    """
    nx = u.shape[0]
    start = b * nx // nb
    stop = (b + 1) * nx // nb
    up = work[1 + 4 * b]
    cur = work[2 + 4 * b]
    if start > 0:
        _copy_row(up, work[4 + 4 * (b - 1)])
    else:
        _copy_row(up, work[0])
    for i in range(start, stop):
        _copy_row(cur, u[i])
        if i + 1 < stop:
            down = u[i + 1]
        elif i + 1 < nx:
            down = work[3 + 4 * (b + 1)]
        else:
            down = work[0]
        _jacobi_row(u[i], up, cur, down, rhs[i], ax, ay, dinv, i, ihx2, ihy2, omega, variable)
        up, cur = cur, up


def _make_jacobi_2d(parallel):
    loop = prange if parallel else range

    def jacobi_2d(u, rhs, ax, ay, dinv, ihx2, ihy2, omega, variable, sweeps, work):
        """``sweeps`` weighted-Jacobi sweeps in place; ``work`` has ``1 + 4 nb`` rows."""
        nx = u.shape[0]
        nb = (work.shape[0] - 1) // 4
        for _ in range(sweeps):
            for b in range(nb):
                _copy_row(work[3 + 4 * b], u[b * nx // nb])
                _copy_row(work[4 + 4 * b], u[(b + 1) * nx // nb - 1])
            for b in loop(nb):
                _jacobi_block(u, rhs, ax, ay, dinv, ihx2, ihy2, omega, variable, work, b, nb)

    return jit(jacobi_2d, parallel=parallel)


def _make_red_black_2d(parallel):
    loop = prange if parallel else range

    def red_black_2d(u, rhs, ax, ay, dinv, ihx2, ihy2, omega, variable, sweeps, work, parity):
        """``sweeps`` red-black SOR sweeps in place (red: ``i + j`` even).

        ``parity = 0``: red then black; ``1``: black then red (the backward sweep).
        ``work`` has ``1 + nb`` rows for ``nb`` blocks of rows: row 0 zeros, then one
        row buffer per block.
        """
        nx = u.shape[0]
        nb = work.shape[0] - 1
        zeros = work[0]
        for _ in range(sweeps):
            for b in loop(nb):
                tmp = work[1 + b]
                start = b * nx // nb
                stop = (b + 1) * nx // nb
                # red points of row i (j = i mod 2), then the black points of row i - 1,
                # whose red neighbours in rows i - 2, i - 1, i are all new by then.
                for i in range(start, min(start + 2, stop)):
                    start_i = (i + parity) & 1
                    _colour_row(
                        u, rhs, ax, ay, dinv, i, start_i, ihx2, ihy2, omega, zeros, variable, tmp
                    )
                for i in range(start + 2, stop):
                    _red_black_rows(
                        u, rhs, ax, ay, dinv, i, ihx2, ihy2, omega, zeros, variable, parity, tmp
                    )
            # The black points of each block's first and last row need red values of
            # the neighbouring blocks.
            for b in loop(nb):
                tmp = work[1 + b]
                start = b * nx // nb
                stop = (b + 1) * nx // nb
                first = (start + 1 + parity) & 1
                _colour_row(
                    u, rhs, ax, ay, dinv, start, first, ihx2, ihy2, omega, zeros, variable, tmp
                )
                if stop - 1 > start:
                    last = (stop + parity) & 1
                    _colour_row(
                        u,
                        rhs,
                        ax,
                        ay,
                        dinv,
                        stop - 1,
                        last,
                        ihx2,
                        ihy2,
                        omega,
                        zeros,
                        variable,
                        tmp,
                    )

    return jit(red_black_2d, parallel=parallel)


@jit
def gauss_seidel_2d(u, rhs, ax, ay, dinv, ihx2, ihy2, omega, variable, sweeps, forward, zeros):
    """``sweeps`` lexicographic SOR sweeps in place, forward (C order) or backward."""
    nx, ny = u.shape
    for _ in range(sweeps):
        for ii in range(nx):
            i = ii if forward else nx - 1 - ii
            _gauss_seidel_row(
                u, rhs, ax, ay, dinv, i, 0, ny, ihx2, ihy2, omega, zeros, variable, forward
            )


@jit
def _gauss_seidel_tile(u, rhs, ax, ay, dinv, ihx2, ihy2, omega, variable, forward, zeros, tile):
    """Rows of band ``tile[0]`` (of ``tile[2]`` rows), columns of strip ``tile[1]`` (of
    ``tile[3]``), in the sweep's order."""
    band, strip, rows, nstrips = tile
    nx, ny = u.shape
    nbands = (nx + rows - 1) // rows
    if not forward:  # the mirror image: bands from the bottom, strips from the right
        band = nbands - 1 - band
        strip = nstrips - 1 - strip
    first = band * rows
    last = min(first + rows, nx)
    lo = strip * ny // nstrips
    hi = (strip + 1) * ny // nstrips
    for ii in range(last - first):
        i = first + ii if forward else last - 1 - ii
        _gauss_seidel_row(
            u, rhs, ax, ay, dinv, i, lo, hi, ihx2, ihy2, omega, zeros, variable, forward
        )


@jit(parallel=True)
def gauss_seidel_2d_parallel(
    u, rhs, ax, ay, dinv, ihx2, ihy2, omega, variable, sweeps, forward, zeros, nstrips, rows
):
    """Lexicographic SOR by a wavefront of tiles: exactly the serial sweeps, in parallel.

    The grid is cut into ``nstrips`` column strips (one per thread) and bands of
    ``rows`` rows. Tile (band ``b``, strip ``p``) of sweep ``k`` runs at stage
    ``b + p + 2 k``: the tiles whose new values it needs (band ``b - 1`` and strip
    ``p - 1`` of sweep ``k``, its own of sweep ``k - 1``) ran at earlier stages, those
    whose old values it needs (band ``b + 1`` and strip ``p + 1`` of sweep ``k - 1``)
    too, while their next updates come at later stages; tiles of one stage never
    touch each other (their stage numbers differ by an odd number from any
    neighbour's). So every point sees the values of the serial order, and a run of
    many sweeps needs about two parallel stages per sweep.
    """
    nx = u.shape[0]
    nbands = (nx + rows - 1) // rows
    ntiles = nbands * nstrips
    for stage in range(nbands + nstrips - 1 + 2 * (sweeps - 1)):
        # Tile index t = p * nbands + b: a static schedule gives each thread one strip.
        for tu in prange(ntiles):
            t = np.int64(tu)  # prange indices may be unsigned
            p = t // nbands
            b = t - p * nbands
            lag = stage - b - p
            if lag >= 0 and lag % 2 == 0 and lag // 2 < sweeps:
                tile = (b, p, rows, nstrips)
                _gauss_seidel_tile(
                    u, rhs, ax, ay, dinv, ihx2, ihy2, omega, variable, forward, zeros, tile
                )


def _make_residual_2d(parallel):
    loop = prange if parallel else range

    def residual_2d(u, rhs, ax, ay, c, ihx2, ihy2, variable, out, store, zeros):
        """``||f - A u||_2^2``; ``f - A u`` is written to ``out`` when ``store``."""
        nx = u.shape[0]
        total = 0.0
        for i in loop(nx):
            up = u[i - 1] if i > 0 else zeros
            down = u[i + 1] if i < nx - 1 else zeros
            total += _residual_row(
                out[i], up, u[i], down, rhs[i], ax, ay, c, i, ihx2, ihy2, variable, store
            )
        return total

    return jit(residual_2d, parallel=parallel)


jacobi_2d = _make_jacobi_2d(parallel=False)
jacobi_2d_parallel = _make_jacobi_2d(parallel=True)
red_black_2d = _make_red_black_2d(parallel=False)
red_black_2d_parallel = _make_red_black_2d(parallel=True)
residual_2d = _make_residual_2d(parallel=False)
residual_2d_parallel = _make_residual_2d(parallel=True)


# -- Chebyshev-accelerated Jacobi: one step of the three-term recurrence -------------
@jit
def _chebyshev_block(xo, x, rhs, ax, ay, dinv, scale, ihx2, ihy2, c1, c2, flags, work, b, nb):
    """Rows of block ``b`` (of ``nb``) of ``xo <- x + c1 (x - xo) + c2 s (J(x) - x)``.

    ``J(x)`` is the Jacobi value ``D^{-1} (f + (D - A) x)`` (so ``J(x) - x =
    D^{-1} (f - A x)``), computed into the row buffer ``work[1 + b]``;
    ``work[0]`` is a row of zeros. ``flags = (variable, scaled, first)``: ``s`` is
    ``scale[i, j]`` when ``scaled``, else 1; ``first``: ``c1 = 0`` and ``xo`` is not read.
    """
    variable, scaled, first = flags
    nx = x.shape[0]
    tmp = work[1 + b]
    zeros = work[0]
    for i in range(b * nx // nb, (b + 1) * nx // nb):
        cur = x[i]
        up = x[i - 1] if i > 0 else zeros
        down = x[i + 1] if i < nx - 1 else zeros
        _jacobi_row(tmp, up, cur, down, rhs[i], ax, ay, dinv, i, ihx2, ihy2, 1.0, variable)
        out = xo[i]
        if scaled:
            sr = scale[i]
            for j in range(cur.shape[0]):
                out[j] = cur[j] + c2 * sr[j] * (tmp[j] - cur[j])
        elif first:
            for j in range(cur.shape[0]):
                out[j] = cur[j] + c2 * (tmp[j] - cur[j])
        else:
            for j in range(cur.shape[0]):
                out[j] = cur[j] + c1 * (cur[j] - out[j]) + c2 * (tmp[j] - cur[j])


def _make_chebyshev_2d(parallel):
    loop = prange if parallel else range

    def chebyshev_2d(xo, x, rhs, ax, ay, dinv, scale, ihx2, ihy2, c1, c2, flags, work):
        """One step ``xo <- x + c1 (x - xo) + c2 s D^{-1} (f - A x)``; ``work`` has
        ``1 + nb`` rows (row 0 zeros), one row buffer per block of rows. Chebyshev:
        ``s = 1``; l1-Jacobi: ``c1 = 0``, ``s = a_ii / D_{l1,ii}`` (``flags[1]``)."""
        nb = work.shape[0] - 1
        for b in loop(nb):
            _chebyshev_block(
                xo, x, rhs, ax, ay, dinv, scale, ihx2, ihy2, c1, c2, flags, work, b, nb
            )

    return jit(chebyshev_2d, parallel=parallel)


chebyshev_2d = _make_chebyshev_2d(parallel=False)
chebyshev_2d_parallel = _make_chebyshev_2d(parallel=True)


# -- Chebyshev of degree 2 in one pass (temporal blocking) ----------------------------
# Two separate steps stream the grid twice and write and read a second iterate
# (about 52 bytes per point in float32 with variable coefficients); fused, each row
# of f and the coefficients is read once and the intermediate iterate y lives in
# three row buffers (about 24 bytes per point). Row i of the second step needs y
# in rows i - 1 .. i + 1, so y runs one row ahead of the update of u. Each block of
# rows also needs the *old* u in the two rows beyond each of its edges, which the
# neighbouring block overwrites: they are copied to ``work[b, 4:8]`` first. From a
# zero iterate (``zero``: a multigrid cycle's pre-smoothing) u is never read.
@jit
def _u_row(u, halo, zeros, k, span):
    """Old row ``k`` of ``u`` for the block ``span = (lo, hi, zero)``: from ``halo``
    outside ``[lo, hi)``; ``zeros`` outside the grid or when ``zero``."""
    lo, hi, zero = span
    if zero or k < 0 or k >= u.shape[0]:
        return zeros
    if k < lo:
        return halo[k - lo + 2]  # halo rows 0, 1: old u[lo - 2], u[lo - 1]
    if k >= hi:
        return halo[k - hi + 2]  # halo rows 2, 3: old u[hi], u[hi + 1]
    return u[k]


@jit
def _first_step_row(y, tmp, u, rhs, coef, a0, halo, zeros, k, span):
    """Row ``k`` of ``y = u + a0 (J(u) - u)`` (the first Chebyshev step) into ``y``."""
    ax, ay, dinv, ihx2, ihy2, variable = coef
    cur = _u_row(u, halo, zeros, k, span)
    up = _u_row(u, halo, zeros, k - 1, span)
    down = _u_row(u, halo, zeros, k + 1, span)
    _jacobi_row(tmp, up, cur, down, rhs[k], ax, ay, dinv, k, ihx2, ihy2, 1.0, variable)
    for j in range(cur.shape[0]):
        y[j] = cur[j] + a0 * (tmp[j] - cur[j])


@jit
def _chebyshev2_block(u, rhs, coef, a0, c1, c2, work, zeros, b, nb, zero):
    """Rows of block ``b`` of the degree-2 Chebyshev polynomial, in place on ``u``.

    ``work[b]`` holds 8 rows: ``y`` of row ``k`` in row ``k % 3``, the Jacobi row
    buffer (row 3) and the four halo rows of old ``u`` (rows 4-7). ``zeros`` must be
    a writable row of zeros (numba types read-only arrays apart).
    """
    ax, ay, dinv, ihx2, ihy2, variable = coef
    nx = u.shape[0]
    span = (b * nx // nb, (b + 1) * nx // nb, zero)
    lo, hi = span[0], span[1]
    w = work[b]
    tmp = w[3]
    halo = w[4:8]
    for k in range(max(lo - 1, 0), lo + 1):
        _first_step_row(w[k % 3], tmp, u, rhs, coef, a0, halo, zeros, k, span)
    for i in range(lo, hi):
        if i + 1 < nx:  # y one row ahead: it reads old u in rows i .. i + 2
            _first_step_row(w[(i + 1) % 3], tmp, u, rhs, coef, a0, halo, zeros, i + 1, span)
        up = w[(i - 1) % 3] if i > 0 else zeros
        down = w[(i + 1) % 3] if i + 1 < nx else zeros
        cur = w[i % 3]
        _jacobi_row(tmp, up, cur, down, rhs[i], ax, ay, dinv, i, ihx2, ihy2, 1.0, variable)
        old = _u_row(u, halo, zeros, i, span)
        out = u[i]
        for j in range(cur.shape[0]):
            out[j] = cur[j] + c1 * (cur[j] - old[j]) + c2 * (tmp[j] - cur[j])


def _make_chebyshev2_2d(parallel):
    loop = prange if parallel else range

    def chebyshev2_2d(u, rhs, ax, ay, dinv, ihx2, ihy2, a0, c1, c2, variable, work, zeros, zero):
        """The degree-2 Chebyshev polynomial in one pass, in place: ``y = u + a0 (J(u) -
        u)``, then ``u <- y + c1 (y - u) + c2 (J(y) - y)``; the same operations as two
        calls of :func:`chebyshev_2d`, so the same numbers. ``work``: ``(nb, 8, ny)``.
        ``zero``: start from ``u = 0`` without reading ``u`` (its contents are ignored)."""
        nx = u.shape[0]
        nb = work.shape[0]
        for b in range(nb):  # the old rows beyond each block's edges, before any is written
            lo, hi = b * nx // nb, (b + 1) * nx // nb
            for q, k in enumerate((lo - 2, lo - 1, hi, hi + 1)):
                if 0 <= k < nx and not zero:
                    work[b, 4 + q] = u[k]
        coef = (ax, ay, dinv, ihx2, ihy2, variable)
        for b in loop(nb):
            _chebyshev2_block(u, rhs, coef, a0, c1, c2, work, zeros, b, nb, zero)

    return jit(chebyshev2_2d, parallel=parallel)


chebyshev2_2d = _make_chebyshev2_2d(parallel=False)
chebyshev2_2d_parallel = _make_chebyshev2_2d(parallel=True)


@jit
def chebyshev_1d(xo, x, rhs, ax, dinv, scale, ih2, c1, c2, flags):
    """One step ``xo <- x + c1 (x - xo) + c2 s D^{-1} (f - A x)`` in 1D (see 2D)."""
    variable, scaled, first = flags
    n = x.shape[0]
    w = ax[0] * ih2
    di = dinv[0]
    for i in range(n):
        left = x[i - 1] if i > 0 else 0.0
        right = x[i + 1] if i < n - 1 else 0.0
        if variable:
            jac = (rhs[i] + (ax[i] * left + ax[i + 1] * right) * ih2) * dinv[i]
        else:
            jac = (rhs[i] + w * (left + right)) * di
        step = c2 * (jac - x[i])
        if scaled:
            step *= scale[i]
        if first:
            xo[i] = x[i] + step
        else:
            xo[i] = x[i] + c1 * (x[i] - xo[i]) + step


# -- 1D -------------------------------------------------------------------------
# ax has n + 1 faces; the couplings of point i are ax[i] (left) and ax[i + 1] (right).


@jit
def jacobi_1d(u, rhs, ax, dinv, ih2, omega, variable, sweeps):
    """``sweeps`` weighted-Jacobi sweeps in place (one carried old value, no buffer)."""
    n = u.shape[0]
    keep = 1.0 - omega
    w = ax[0] * ih2
    di = dinv[0]
    for _ in range(sweeps):
        left = 0.0  # old u[i - 1]
        if not variable:
            for i in range(n - 1):
                old = u[i]
                u[i] = keep * old + omega * ((rhs[i] + w * (left + u[i + 1])) * di)
                left = old
            m = n - 1
            u[m] = keep * u[m] + omega * ((rhs[m] + w * left) * di)
        else:
            for i in range(n):
                old = u[i]
                right = u[i + 1] if i < n - 1 else 0.0
                s = rhs[i] + (ax[i] * left + ax[i + 1] * right) * ih2
                u[i] = keep * old + omega * (s * dinv[i])
                left = old


@jit
def gauss_seidel_1d(u, rhs, ax, dinv, ih2, omega, variable, sweeps, forward):
    """``sweeps`` SOR sweeps in place, left to right (``forward``) or right to left.

    Constant coefficients: two points per step of the recurrence, as in 2D.
    """
    n = u.shape[0]
    keep = 1.0 - omega
    w = ax[0] * ih2
    odinv = omega * dinv[0]
    k = w * odinv
    k2 = k * k
    for _ in range(sweeps):
        s = 0.0  # the new neighbour behind
        if not variable:
            if forward:
                i = 0
                while i + 2 < n:
                    t0 = keep * u[i] + (rhs[i] + w * u[i + 1]) * odinv
                    t1 = keep * u[i + 1] + (rhs[i + 1] + w * u[i + 2]) * odinv
                    u[i] = t0 + k * s
                    s = (t1 + k * t0) + k2 * s
                    u[i + 1] = s
                    i += 2
                while i < n:
                    right = u[i + 1] if i + 1 < n else 0.0
                    s = (keep * u[i] + (rhs[i] + w * right) * odinv) + k * s
                    u[i] = s
                    i += 1
            else:
                i = n - 1
                while i >= 2:
                    t0 = keep * u[i] + (rhs[i] + w * u[i - 1]) * odinv
                    t1 = keep * u[i - 1] + (rhs[i - 1] + w * u[i - 2]) * odinv
                    u[i] = t0 + k * s
                    s = (t1 + k * t0) + k2 * s
                    u[i - 1] = s
                    i -= 2
                while i >= 0:
                    left = u[i - 1] if i > 0 else 0.0
                    s = (keep * u[i] + (rhs[i] + w * left) * odinv) + k * s
                    u[i] = s
                    i -= 1
        else:
            for ii in range(n):
                i = ii if forward else n - 1 - ii
                od = omega * dinv[i]
                if forward:
                    old = ax[i + 1] * u[i + 1] if i < n - 1 else 0.0
                    kk = ax[i] * ih2 * od
                else:
                    old = ax[i] * u[i - 1] if i > 0 else 0.0
                    kk = ax[i + 1] * ih2 * od
                s = (keep * u[i] + (rhs[i] + old * ih2) * od) + kk * s
                u[i] = s


@jit
def _point_1d(u, rhs, ax, dinv, ih2, omega, variable, i):
    """SOR update of point ``i`` (any ``0 <= i < n``)."""
    n = u.shape[0]
    left = u[i - 1] if i > 0 else 0.0
    right = u[i + 1] if i < n - 1 else 0.0
    if variable:
        s = rhs[i] + (ax[i] * left + ax[i + 1] * right) * ih2
        u[i] = (1.0 - omega) * u[i] + omega * (s * dinv[i])
    else:
        w = ax[0] * ih2
        u[i] = (1.0 - omega) * u[i] + (rhs[i] + w * (left + right)) * (omega * dinv[0])


@jit
def red_black_1d(u, rhs, ax, dinv, ih2, omega, variable, sweeps, parity):
    """``sweeps`` red-black SOR sweeps (red: even ``i``), red ``i`` then black ``i - 1``.

    One pass: black ``i - 1`` follows red ``i`` since its red neighbours ``i - 2``
    and ``i`` are new by then. ``parity = 1`` runs black before red (the backward
    sweep), one colour after the other.
    """
    n = u.shape[0]
    keep = 1.0 - omega
    w = ax[0] * ih2
    odinv = omega * dinv[0]
    for _ in range(sweeps):
        if parity == 1:
            for first in (1, 0):  # black (odd i), then red
                for i in range(first, n, 2):
                    left = u[i - 1] if i > 0 else 0.0
                    right = u[i + 1] if i < n - 1 else 0.0
                    if variable:
                        v = (rhs[i] + (ax[i] * left + ax[i + 1] * right) * ih2) * dinv[i]
                        u[i] = keep * u[i] + omega * v
                    else:
                        u[i] = keep * u[i] + (rhs[i] + w * (left + right)) * odinv
            continue
        _point_1d(u, rhs, ax, dinv, ih2, omega, variable, 0)
        # interior pairs: red i (2 <= i <= n - 2) and black i - 1, all neighbours inside
        if variable:
            for i in range(2, n - 1, 2):
                for k in (i, i - 1):
                    s = rhs[k] + (ax[k] * u[k - 1] + ax[k + 1] * u[k + 1]) * ih2
                    u[k] = keep * u[k] + omega * (s * dinv[k])
        else:
            for i in range(2, n - 1, 2):
                u[i] = keep * u[i] + (rhs[i] + w * (u[i - 1] + u[i + 1])) * odinv
                u[i - 1] = keep * u[i - 1] + (rhs[i - 1] + w * (u[i - 2] + u[i])) * odinv
        if n >= 2:
            # the rest: reds after the last interior pair (at most n - 1), then blacks
            last = (n - 2) // 2 * 2  # the last red point of the interior pairs (or 0)
            for i in range(last + 2, n, 2):
                _point_1d(u, rhs, ax, dinv, ih2, omega, variable, i)
            for i in range(last + 1, n, 2):
                _point_1d(u, rhs, ax, dinv, ih2, omega, variable, i)


@jit
def residual_1d(u, rhs, ax, c, ih2, variable, out, store):
    """``||f - A u||_2^2``; ``f - A u`` is written to ``out`` when ``store``."""
    n = u.shape[0]
    total = 0.0
    for i in range(n):
        left = u[i - 1] if i > 0 else 0.0
        right = u[i + 1] if i < n - 1 else 0.0
        uc = u[i]
        if variable:
            au = (ax[i] * (uc - left) - ax[i + 1] * (right - uc)) * ih2 + c[i] * uc
        else:
            w = ax[0] * ih2
            au = (2.0 * w + c[0]) * uc - w * (left + right)
        r = rhs[i] - au
        total += r * r
        if store:
            out[i] = r
    return total


# -- Gershgorin bound of D^-1 A (the Chebyshev smoother's cap) --------------------
@jit
def gershgorin_ratio_2d(ax, ay, c, ihx2, ihy2):
    """``max_ij (a_ii + sum_j |a_ij|) / a_ii`` without a grid-sized temporary
    (:func:`solvers.relaxation.l1_diagonal` over the diagonal, reduced)."""
    nx, ny = c.shape
    best = 0.0
    for i in range(nx):
        for j in range(ny):
            w, e = ax[i, j] * ihx2, ax[i + 1, j] * ihx2
            s, n = ay[i, j] * ihy2, ay[i, j + 1] * ihy2
            d = w + e + s + n + c[i, j]
            off = (w if i > 0 else 0.0) + (e if i < nx - 1 else 0.0)
            off += (s if j > 0 else 0.0) + (n if j < ny - 1 else 0.0)
            best = max(best, (d + off) / d)
    return best


@jit
def gershgorin_ratio_1d(ax, c, ihx2):
    """The 1D twin of :func:`gershgorin_ratio_2d`."""
    n = c.shape[0]
    best = 0.0
    for i in range(n):
        w, e = ax[i] * ihx2, ax[i + 1] * ihx2
        d = w + e + c[i]
        off = (w if i > 0 else 0.0) + (e if i < n - 1 else 0.0)
        best = max(best, (d + off) / d)
    return best


@jit
def checkerboard_quotient_2d(ax, ay, d, ihx2, ihy2):
    """The Rayleigh quotient of ``D^{-1/2} A D^{-1/2}`` at the checkerboard vector
    ``z_ij = (-1)^(i+j)``: the mean over points of
    ``1 + sum_nb a_nb / sqrt(d_ij d_nb)`` (each neighbour has the other sign), with
    ``d`` the diagonal; ``1 / sqrt(d)`` is kept for three rows at a time (a row of
    zeros beyond the boundary)."""
    nx, ny = d.shape
    prev = np.zeros(ny)
    cur = 1.0 / np.sqrt(d[0])
    total = 0.0
    for i in range(nx):
        nxt = 1.0 / np.sqrt(d[i + 1]) if i + 1 < nx else np.zeros(ny)
        for j in range(ny):
            acc = ax[i, j] * ihx2 * prev[j] + ax[i + 1, j] * ihx2 * nxt[j]
            if j > 0:
                acc += ay[i, j] * ihy2 * cur[j - 1]
            if j < ny - 1:
                acc += ay[i, j + 1] * ihy2 * cur[j + 1]
            total += 1.0 + acc * cur[j]
        prev, cur = cur, nxt
    return total / (nx * ny)


@jit
def all_equal(a):
    """Whether every entry of the 1D array ``a`` equals its first (stops at the first
    that does not: no grid-sized temporary)."""
    first = a[0]
    for i in range(1, a.shape[0]):
        if a[i] != first:
            return False
    return True
