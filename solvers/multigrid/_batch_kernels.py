r"""Numba kernels of :mod:`solvers.multigrid.batch`: ``m`` right-hand sides interleaved.

A batch of grid functions is stored as ``U[i, j, k]`` (2D grid point ``(i, j)``,
right-hand side ``k`` last and contiguous). Each kernel reads the coefficients
of a grid point (faces ``ax``, ``ay``, ``1 / d`` or the shift ``c``) once and
applies them to all ``m`` values there in an inner loop over ``k``. Arguments
are those of the single right-hand-side kernels (:mod:`solvers._relaxation_kernels`,
:mod:`solvers.multigrid._transfer_kernels`), with every grid array gaining the
trailing axis ``m``.

What numba makes of the loop over ``k`` (measured, AVX-512 machine): LLVM's
loop vectoriser picks 16-lane vectors (and interleaves them), so a loop of
``m = 8`` runs in its scalar remainder; a constant trip count is unrolled
before vectorisation, and numba leaves the SLP vectoriser off, so 8 explicit
lanes stay scalar too. The kernels therefore cost about what the single
kernels cost per right-hand side and point (1.6-1.7 ms per float32 Chebyshev
step at 1023^2, loaded machine); what the layout saves is the coefficient
traffic and the per-call overhead, which pays on small grids only.

The smoother, the fused residual + restriction and the prolongation +
correction repeat the arithmetic of their single right-hand-side twins
operation by operation, in the same order and the same precisions (float32
operands, float64 constants), so each column of a batch gets exactly the
numbers it would get alone (tests compare them bit for bit). A neighbour
beyond the boundary enters as ``0 * u`` (``unit[0] * u``, ``unit = [0, 1]`` in
the batch's dtype), which adds exactly nothing, so edge points need no
separate code. Hot loops index whole rows (``cur[j, k]``): a view per grid
point costs more than the arithmetic for ``m = 8``. Row blocks: ``nb`` blocks
of rows, ``prange`` over blocks in the parallel variants.
"""

from __future__ import annotations

from numba import prange

from problems._numba import jit


# -- Chebyshev-accelerated Jacobi ----------------------------------------------------
@jit
def _chebyshev_rows(xo, x, rhs, ax, ay, dinv, ihx2, ihy2, c1, c2, variable, first, t, zeros, unit,
                    lo, hi):  # fmt: skip
    nx, ny, m = x.shape
    for i in range(lo, hi):
        cur = x[i]
        up = x[i - 1] if i > 0 else zeros
        down = x[i + 1] if i < nx - 1 else zeros
        f = rhs[i]
        out = xo[i]
        for j in range(ny):
            js = j - 1 if j > 0 else 0
            jn = j + 1 if j < ny - 1 else 0
            ws = unit[1] if j > 0 else unit[0]
            wn = unit[1] if j < ny - 1 else unit[0]
            # the Jacobi value D^{-1} (f + (D - A) x) (as _relaxation_kernels._jacobi_row)
            if not variable:
                wx = ax[0, 0] * ihx2
                wy = ay[0, 0] * ihy2
                di = dinv[0, 0]
                for k in range(m):
                    south = ws * cur[js, k]
                    north = wn * cur[jn, k]
                    t[k] = (f[j, k] + wx * (up[j, k] + down[j, k]) + wy * (south + north)) * di
            else:
                aw = ax[i, j]
                ae = ax[i + 1, j]
                ays = ay[i, j]
                ayn = ay[i, j + 1]
                dr = dinv[i, j]
                for k in range(m):
                    south = ws * cur[js, k]
                    north = wn * cur[jn, k]
                    s = f[j, k] + (aw * up[j, k] + ae * down[j, k]) * ihx2
                    t[k] = (s + (ays * south + ayn * north) * ihy2) * dr
            if first:
                for k in range(m):
                    out[j, k] = cur[j, k] + c2 * (t[k] - cur[j, k])
            else:
                for k in range(m):
                    out[j, k] = cur[j, k] + c1 * (cur[j, k] - out[j, k]) + c2 * (t[k] - cur[j, k])


def _make_chebyshev(parallel):
    loop = prange if parallel else range

    def chebyshev_2d_batch(xo, x, rhs, ax, ay, dinv, ihx2, ihy2, c1, c2, variable, first, work,
                           unit):  # fmt: skip
        """One step ``xo <- x + c1 (x - xo) + c2 D^{-1} (f - A x)`` for every right-hand
        side (``first``: ``c1 = 0``, ``xo`` not read). ``work``: ``(1 + nb, ny, m)`` in
        the batch's dtype, ``work[0]`` zeros; row 0 of ``work[1 + b]`` is block ``b``'s
        buffer of Jacobi values."""
        nb = work.shape[0] - 1
        nx = x.shape[0]
        for b in loop(nb):
            _chebyshev_rows(
                xo, x, rhs, ax, ay, dinv, ihx2, ihy2, c1, c2, variable, first, work[1 + b, 0],
                work[0], unit, b * nx // nb, (b + 1) * nx // nb,
            )  # fmt: skip

    return jit(chebyshev_2d_batch, parallel=parallel)


# -- residual + restriction, prolongation + correction -------------------------------
@jit
def _residual_row(out, up, cur, down, f, ax, ay, c, i, ihx2, ihy2, variable, unit):
    """Row ``i`` of ``f - A u`` for every right-hand side (as
    :func:`solvers.multigrid._transfer_kernels._residual_row`: there the variable
    case widens the ``j -+ 1`` neighbours to float64, so it does here)."""
    ny, m = cur.shape
    if not variable:
        wx = ax[0, 0] * ihx2
        wy = ay[0, 0] * ihy2
        d = 2.0 * wx + 2.0 * wy + c[0, 0]
        for j in range(ny):
            js = j - 1 if j > 0 else 0
            jn = j + 1 if j < ny - 1 else 0
            ws = unit[1] if j > 0 else unit[0]
            wn = unit[1] if j < ny - 1 else unit[0]
            for k in range(m):
                sn = ws * cur[js, k] + wn * cur[jn, k]
                out[j, k] = f[j, k] - (d * cur[j, k] - wx * (up[j, k] + down[j, k]) - wy * sn)
        return
    for j in range(ny):
        aw = ax[i, j]
        ae = ax[i + 1, j]
        ays = ay[i, j]
        ayn = ay[i, j + 1]
        cc = c[i, j]
        js = j - 1 if j > 0 else 0
        jn = j + 1 if j < ny - 1 else 0
        ws = 1.0 if j > 0 else 0.0  # float64, as the single kernel's neighbours
        wn = 1.0 if j < ny - 1 else 0.0
        for k in range(m):
            u0 = cur[j, k]
            south = ws * cur[js, k]
            north = wn * cur[jn, k]
            au = (aw * (u0 - up[j, k]) - ae * (down[j, k] - u0)) * ihx2
            au += (ays * (u0 - south) - ayn * (north - u0)) * ihy2
            out[j, k] = f[j, k] - (au + cc * u0)


@jit
def _fine_residual_row(out, u, f, ax, ay, c, i, ihx2, ihy2, variable, zeros, unit):
    nx = u.shape[0]
    up = u[i - 1] if i > 0 else zeros
    down = u[i + 1] if i < nx - 1 else zeros
    _residual_row(out, up, u[i], down, f[i], ax, ay, c, i, ihx2, ihy2, variable, unit)


@jit
def _residual_restrict_block(u, f, ax, ay, c, ihx2, ihy2, variable, out, work, unit, b, nb):
    mx, my, m = out.shape
    start = b * mx // nb
    stop = (b + 1) * mx // nb
    if start >= stop:
        return
    zeros = work[0]
    ra = work[1 + 4 * b]
    rb = work[2 + 4 * b]
    rc = work[3 + 4 * b]
    v = work[4 + 4 * b]
    _fine_residual_row(ra, u, f, ax, ay, c, 2 * start, ihx2, ihy2, variable, zeros, unit)
    for i in range(start, stop):
        _fine_residual_row(rb, u, f, ax, ay, c, 2 * i + 1, ihx2, ihy2, variable, zeros, unit)
        _fine_residual_row(rc, u, f, ax, ay, c, 2 * i + 2, ihx2, ihy2, variable, zeros, unit)
        for j in range(v.shape[0]):
            for k in range(m):
                v[j, k] = ra[j, k] + 2.0 * rb[j, k] + rc[j, k]
        o = out[i]
        for J in range(my):
            for k in range(m):
                o[J, k] = (v[2 * J, k] + 2.0 * v[2 * J + 1, k] + v[2 * J + 2, k]) * 0.0625
        ra, rc = rc, ra


def _make_residual_restrict(parallel):
    loop = prange if parallel else range

    def residual_restrict_2d_batch(u, f, ax, ay, c, ihx2, ihy2, variable, out, work, unit):
        """``out = R (f - A u)`` (full weighting) for every right-hand side in one pass;
        ``work``: ``(1 + 4 nb, ny, m)``, ``work[0]`` zeros."""
        nb = (work.shape[0] - 1) // 4
        for b in loop(nb):
            _residual_restrict_block(u, f, ax, ay, c, ihx2, ihy2, variable, out, work, unit, b, nb)

    return jit(residual_restrict_2d_batch, parallel=parallel)


@jit
def _prolong_row(urow, lo, hi, wlo, whi):
    """``urow += `` the interpolation of the coarse row ``wlo lo + whi hi`` (every ``k``;
    as :func:`solvers.multigrid._transfer_kernels._prolong_row`)."""
    mc, m = lo.shape
    for k in range(m):
        cur = wlo * lo[0, k] + whi * hi[0, k]
        urow[0, k] += 0.5 * (0.0 * wlo + cur)
        urow[1, k] += cur
    for J in range(1, mc):
        for k in range(m):
            prev = wlo * lo[J - 1, k] + whi * hi[J - 1, k]
            cur = wlo * lo[J, k] + whi * hi[J, k]
            urow[2 * J, k] += 0.5 * (prev + cur)
            urow[2 * J + 1, k] += cur
    for k in range(m):
        urow[2 * mc, k] += 0.5 * (wlo * lo[mc - 1, k] + whi * hi[mc - 1, k])


def _make_prolong_add(parallel):
    loop = prange if parallel else range

    def prolong_add_2d_batch(e, u):
        """``u += P e`` for every right-hand side, one pass over ``u`` (rows as in
        :func:`solvers.multigrid._transfer_kernels.prolong_add_2d`)."""
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

    return jit(prolong_add_2d_batch, parallel=parallel)


# -- float64 CG: operator, fused vector updates, one dot product per column ---------------
def _make_apply(parallel):
    loop = prange if parallel else range

    def apply_2d_batch(u, f, ax, ay, c, ihx2, ihy2, out, sums, residual, zeros):
        """``out = A u`` (``residual``: ``f - A u``) for every right-hand side; ``sums``
        (``nx x m``) receives per row ``sum_j u out`` (``residual``: ``sum_j out^2``);
        ``zeros``: ``(ny, m)`` zeros."""
        nx, ny, m = u.shape
        for i in loop(nx):
            s = sums[i]
            for k in range(m):
                s[k] = 0.0
            up = u[i - 1] if i > 0 else zeros
            down = u[i + 1] if i < nx - 1 else zeros
            cur = u[i]
            o = out[i]
            fi = f[i]
            for j in range(ny):
                aw, ae = ax[i, j] * ihx2, ax[i + 1, j] * ihx2
                ays, ayn = ay[i, j] * ihy2, ay[i, j + 1] * ihy2
                cc = c[i, j]
                js = j - 1 if j > 0 else 0
                jn = j + 1 if j < ny - 1 else 0
                ws = 1.0 if j > 0 else 0.0
                wn = 1.0 if j < ny - 1 else 0.0
                for k in range(m):
                    u0 = cur[j, k]
                    au = aw * (u0 - up[j, k]) - ae * (down[j, k] - u0)
                    au += ays * (u0 - ws * cur[js, k]) - ayn * (wn * cur[jn, k] - u0) + cc * u0
                    if residual:
                        au = fi[j, k] - au
                        s[k] += au * au
                    else:
                        s[k] += u0 * au
                    o[j, k] = au

    return jit(apply_2d_batch, parallel=parallel)


def _make_vector_kernels(parallel):
    loop = prange if parallel else range

    def update(u, r, d, ad, alpha, sums):
        """``u += alpha d``, ``r -= alpha A d`` column by column (``N x m`` views);
        ``sums[b]``: block ``b``'s part of ``||r_k||^2``."""
        nb = sums.shape[0]
        n, m = u.shape
        for b in loop(nb):
            s = sums[b]
            for k in range(m):
                s[k] = 0.0
            for i in range(b * n // nb, (b + 1) * n // nb):
                for k in range(m):
                    u[i, k] += alpha[k] * d[i, k]
                    rk = r[i, k] - alpha[k] * ad[i, k]
                    r[i, k] = rk
                    s[k] += rk * rk

    def direction(d, z, beta, nb):
        """``d = z + beta d`` column by column."""
        n, m = d.shape
        for b in loop(nb):
            for i in range(b * n // nb, (b + 1) * n // nb):
                for k in range(m):
                    d[i, k] = z[i, k] + beta[k] * d[i, k]

    def dot(a, z, sums):
        """``sums[b]``: block ``b``'s part of ``a_k . z_k`` for each column ``k``."""
        nb = sums.shape[0]
        n, m = a.shape
        for b in loop(nb):
            s = sums[b]
            for k in range(m):
                s[k] = 0.0
            for i in range(b * n // nb, (b + 1) * n // nb):
                for k in range(m):
                    s[k] += a[i, k] * z[i, k]

    return tuple(jit(k, parallel=parallel) for k in (update, direction, dot))


def _make_copy(parallel):
    loop = prange if parallel else range

    def copy(src, dst, nb):
        """``dst[:] = src`` with a cast (float64 <-> float32), ``nb`` blocks."""
        n = src.shape[0]
        for b in loop(nb):
            for i in range(b * n // nb, (b + 1) * n // nb):
                dst[i] = src[i]

    return jit(copy, parallel=parallel)


copy = _make_copy(False)
copy_parallel = _make_copy(True)
chebyshev_2d_batch = _make_chebyshev(False)
chebyshev_2d_batch_parallel = _make_chebyshev(True)
residual_restrict_2d_batch = _make_residual_restrict(False)
residual_restrict_2d_batch_parallel = _make_residual_restrict(True)
prolong_add_2d_batch = _make_prolong_add(False)
prolong_add_2d_batch_parallel = _make_prolong_add(True)
apply_2d_batch = _make_apply(False)
apply_2d_batch_parallel = _make_apply(True)
SERIAL = _make_vector_kernels(False)
PARALLEL = _make_vector_kernels(True)
