"""RDM comparisons: equality with rsatoolbox, tau-a against brute force, labelled RDMs."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from rsatoolbox.rdm import RDMs
from rsatoolbox.rdm import compare as rsa_compare

from neuroalign.compare import COMPARE_METHODS, compare_rdms, compare_vectors, square_from_vector
from neuroalign.compare._kendall import HAVE_NUMBA, tau_a_pairs, tau_a_rows
from neuroalign.core import ValidationError

RSA_NAMES = {
    "pearson": "corr",
    "spearman": "spearman",
    "kendall_tau_a": "tau-a",
    "rho_a": "rho-a",
    "cosine": "cosine",
    "corr_cov": "corr_cov",
    "cosine_cov": "cosine_cov",
}


def random_vectors(n_cond=12, n_a=3, n_b=4, seed=1, nan_at=()):
    rng = np.random.default_rng(seed)
    p = n_cond * (n_cond - 1) // 2
    a = rng.random((n_a, p))
    b = rng.random((n_b, p))
    b[1] = np.round(b[1] * 3)  # a model RDM with many ties
    a[:, list(nan_at)] = np.nan
    b[:, list(nan_at)] = np.nan
    return a, b


@pytest.mark.parametrize("method", COMPARE_METHODS)
@pytest.mark.parametrize("nan_at", [(), (3, 10, 40)])
def test_equals_rsatoolbox(method, nan_at):
    a, b = random_vectors(nan_at=nan_at)
    theirs = rsa_compare(RDMs(a), RDMs(b), RSA_NAMES[method])
    ours = compare_vectors(a[:, None], b[None], method)
    assert ours.shape == (3, 4)
    np.testing.assert_allclose(ours, theirs, atol=1e-8)


@pytest.mark.parametrize("method", ["corr_cov", "cosine_cov"])
@pytest.mark.parametrize("nan_at", [(), (5, 7)])
def test_whitened_with_condition_variances_equals_rsatoolbox(method, nan_at):
    a, b = random_vectors(nan_at=nan_at)
    sigma_k = np.random.default_rng(4).random(12) + 0.5
    theirs = rsa_compare(RDMs(a), RDMs(b), RSA_NAMES[method], sigma_k=sigma_k)
    ours = compare_vectors(a[:, None], b[None], method, sigma_k=sigma_k, n_conditions=12)
    np.testing.assert_allclose(ours, theirs, atol=1e-8)


def test_pairwise_nan_deletion_differs_per_pair():
    a, b = random_vectors(n_a=2, n_b=2)
    b = b[:1]
    a[0, 0] = np.nan  # only the first pair loses entry 0
    ours = compare_vectors(a, b, "pearson")
    expect0 = np.corrcoef(a[0, 1:], b[0, 1:])[0, 1]
    expect1 = np.corrcoef(a[1], b[0])[0, 1]
    np.testing.assert_allclose(ours, [expect0, expect1], atol=1e-12)


def test_broadcasting_and_batch_shapes():
    rng = np.random.default_rng(0)
    a = rng.random((5, 1, 2, 45))
    b = rng.random((3, 1, 45))
    for method in COMPARE_METHODS:
        out = compare_vectors(a, b, method)
        assert out.shape == (5, 3, 2)
        assert out[4, 2, 1] == pytest.approx(float(compare_vectors(a[4, 0, 1], b[2, 0], method)))


def brute_tau_a(x, y):
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    p = x.size
    return np.triu(sx * sy, 1).sum() / (p * (p - 1) / 2)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 60),
    st.integers(1, 10),
    st.integers(1, 10),
    st.integers(0, 2**32 - 1),
)
def test_tau_a_equals_brute_force_with_ties(p, levels_x, levels_y, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels_x, (2, p)).astype(float)
    y = rng.integers(0, levels_y, (3, p)).astype(float)
    x[1] = rng.standard_normal(p)
    ia = np.repeat(np.arange(2), 3)
    ib = np.tile(np.arange(3), 2)
    ref = np.array([brute_tau_a(x[i], y[j]) for i, j in zip(ia, ib, strict=True)])
    np.testing.assert_allclose(tau_a_rows(x[ia], y[ib]), ref, atol=1e-12)
    np.testing.assert_allclose(tau_a_pairs(x, y, ia, ib), ref, atol=1e-12)
    np.testing.assert_allclose(compare_vectors(x[:, None], y[None], "kendall_tau_a").ravel(),
                               ref, atol=1e-12)


def test_compiled_kernel_is_used_when_available():
    # the project depends on numba; the numpy path stays the reference
    assert HAVE_NUMBA


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 9), st.integers(0, 2**32 - 1), st.sampled_from(COMPARE_METHODS))
def test_identity_gives_similarity_one(n, seed, method):
    v = np.random.default_rng(seed).random(n * (n - 1) // 2) + 0.1
    assert float(compare_vectors(v, v, method)) == pytest.approx(1.0, abs=1e-12)


def labelled_rdm(labels, seed=0):
    n = len(labels)
    v = np.random.default_rng(seed).random(n * (n - 1) // 2)
    return xr.DataArray(
        square_from_vector(v), dims=("condition", "condition_b"),
        coords={"label": ("condition", list(labels)), "label_b": ("condition_b", list(labels))},
    )


def test_compare_rdms_aligns_by_label():
    a = labelled_rdm(["a", "b", "c", "d", "e"])
    perm = [3, 0, 4, 2, 1]
    b = a.isel(condition=perm, condition_b=perm)  # same RDM, other order
    assert compare_rdms(a, b, "spearman") == pytest.approx(1.0)
    # c holds an extra condition "x" and a's conditions in another order
    c = labelled_rdm(["x", "b", "c", "d", "e", "a"], seed=3)
    in_a_order = [5, 1, 2, 3, 4]
    iu = np.triu_indices(5, 1)
    expect = np.corrcoef(a.values[iu], c.values[np.ix_(in_a_order, in_a_order)][iu])[0, 1]
    assert compare_rdms(a, c, "pearson") == pytest.approx(expect)


def test_compare_rdms_errors():
    a = labelled_rdm(["a", "b", "c", "d"])
    with pytest.raises(ValidationError, match=r"share no condition label: a has \['a', 'b'"):
        compare_rdms(a, labelled_rdm(["w", "x", "y", "z"]))
    with pytest.raises(ValidationError, match=r"share only 2 condition\(s\)"):
        compare_rdms(a, labelled_rdm(["a", "b", "y", "z"]))
    with pytest.raises(ValidationError, match=r"method: got 'kendall'; expected one of 'pearson', "
                                              r"'spearman', 'kendall_tau_a'.*\(aliases: 'corr'"):
        compare_rdms(a, a, "kendall")
    flat = a.copy(data=square_from_vector(np.ones(6)))
    with pytest.raises(ValidationError, match="RDM b is constant"):
        compare_rdms(a, flat, "pearson")
    with pytest.raises(ValidationError, match="expected an RDM DataArray"):
        compare_rdms(a, a.values)


def test_compare_rdms_nan_entries_dropped():
    a = labelled_rdm(["a", "b", "c", "d", "e"])
    b = labelled_rdm(["a", "b", "c", "d", "e"], seed=2)
    bn = b.copy(data=b.values.copy())
    bn.values[0, 1] = bn.values[1, 0] = np.nan
    iu = np.triu_indices(5, 1)
    keep = np.ones(10, dtype=bool)
    keep[0] = False
    expect = np.corrcoef(a.values[iu][keep], b.values[iu][keep])[0, 1]
    assert compare_rdms(a, bn, "pearson") == pytest.approx(expect)


def test_compare_vectors_errors():
    with pytest.raises(ValidationError, match="differ in length"):
        compare_vectors(np.zeros(6), np.zeros(10))
    with pytest.raises(ValidationError, match="do not broadcast"):
        compare_vectors(np.zeros((2, 6)), np.zeros((3, 6)))
    with pytest.raises(ValidationError, match="method: got 'tau_b'; expected one of 'pearson'"):
        compare_vectors(np.zeros(6), np.zeros(6), "tau_b")
    with pytest.raises(ValidationError, match="n_conditions: got 5"):
        compare_vectors(np.ones(6), np.ones(6), "corr_cov", n_conditions=5)
    with pytest.raises(ValidationError, match="length 7 is not n"):
        compare_vectors(np.ones(7), np.ones(7), "cosine_cov")
    # zero-variance vectors follow rsatoolbox's convention (similarity 0), no error
    assert float(compare_vectors(np.ones(6), np.arange(6.0), "pearson")) == 0.0


def test_tau_a_from_worker_threads_equals_main_thread():
    """Threaded callers (e.g. dask workers) use the serial kernel and get equal values."""
    import threading

    v = np.random.default_rng(9).random((20, 4950))  # large enough for the parallel kernel
    main = compare_vectors(v[:, None], v[None], "kendall_tau_a")  # parallel kernel
    results = {}

    def work(i):
        results[i] = compare_vectors(v[:, None], v[None], "kendall_tau_a")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(3):
        np.testing.assert_array_equal(results[i], main)
    np.testing.assert_allclose(main, main.T)
