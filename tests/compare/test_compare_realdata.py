"""Real data: Kriegeskorte et al. 2008 monkey and human IT RDMs, eight human subjects."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.stats
from rsatoolbox.rdm import RDMs
from rsatoolbox.rdm import compare as rsa_compare

from neuroalign.compare import (
    compare_rdms,
    compare_vectors,
    from_rsatoolbox,
    rdm_vector,
    to_rsatoolbox,
    upper_tri,
)


@pytest.fixture(scope="module")
def it_rdms(test_data):
    sup = scipy.io.loadmat(test_data / "rsa" / "Kriegeskorte_Neuron2008_supplementalData.mat")
    rec = sup["RDMs_mIT_hIT_fig1"]
    monkey = np.asarray(rec[0, 0]["RDM"], dtype=np.float64).ravel()
    human = np.asarray(rec[0, 1]["RDM"], dtype=np.float64).ravel()
    assert str(rec[0, 0]["name"][0]).startswith("mIT")
    assert str(rec[0, 1]["name"][0]).startswith("hIT")
    return monkey, human


@pytest.fixture(scope="module")
def subject_rdms(test_data):
    rec = scipy.io.loadmat(test_data / "rsa" / "92_brainRDMs.mat")["RDMs"]
    mats = np.stack([np.asarray(rec[0, s, k]["RDM"], dtype=np.float64)
                     for s in range(4) for k in range(2)])
    return mats


def test_files_have_expected_shapes(it_rdms, subject_rdms):
    monkey, human = it_rdms
    assert monkey.shape == human.shape == (92 * 91 // 2,)
    assert subject_rdms.shape == (8, 92, 92)
    assert np.allclose(subject_rdms, np.swapaxes(subject_rdms, 1, 2))
    assert np.all(np.diagonal(subject_rdms, axis1=1, axis2=2) == 0)


@pytest.mark.parametrize(("method", "ref"), [("spearman", "spearman"),
                                             ("kendall_tau_a", "tau-a")])
def test_monkey_vs_human_it_equals_rsatoolbox(it_rdms, method, ref):
    monkey, human = it_rdms
    ours = float(compare_vectors(monkey, human, method))
    theirs = float(rsa_compare(RDMs(monkey[None]), RDMs(human[None]), ref)[0, 0])
    assert ours == pytest.approx(theirs, abs=1e-8)
    # the published finding: monkey and human IT RDMs are clearly related
    assert ours > 0.2
    if method == "spearman":
        assert ours == pytest.approx(scipy.stats.spearmanr(monkey, human)[0], abs=1e-10)


@pytest.mark.parametrize(("method", "ref"), [("spearman", "spearman"),
                                             ("kendall_tau_a", "tau-a")])
def test_eight_subjects_equal_rsatoolbox(subject_rdms, method, ref):
    vecs = upper_tri(subject_rdms)
    ours = compare_vectors(vecs[:, None], vecs[None], method)
    theirs = rsa_compare(RDMs(vecs), RDMs(vecs), ref)
    np.testing.assert_allclose(ours, theirs, atol=1e-8)
    # tau-a of an RDM with itself is below 1 when it has ties (float32 values tie)
    np.testing.assert_allclose(np.diag(ours), 1.0, atol=1e-5 if method != "spearman" else 1e-12)
    # sessions of one subject agree more than sessions of different subjects on average
    same = np.mean([ours[2 * s, 2 * s + 1] for s in range(4)])
    off = ours[np.triu_indices(8, 1)].mean()
    assert same > off


def test_subjects_against_monkey_through_labelled_rdms(it_rdms, subject_rdms):
    monkey, _ = it_rdms
    r_monkey = from_rsatoolbox(RDMs(monkey[None]))
    subj = RDMs(upper_tri(subject_rdms))
    for i in range(8):
        r_subj = from_rsatoolbox(subj, index=i)
        ours = compare_rdms(r_subj, r_monkey, method="kendall_tau_a")
        np.testing.assert_array_equal(rdm_vector(r_subj), subj.get_vectors()[i])
        theirs = rsa_compare(RDMs(subj.get_vectors()[i : i + 1]), RDMs(monkey[None]),
                             "tau-a")[0, 0]
        assert ours == pytest.approx(theirs, abs=1e-8)
    back = to_rsatoolbox(r_monkey)
    np.testing.assert_array_equal(back.get_vectors()[0], monkey)
