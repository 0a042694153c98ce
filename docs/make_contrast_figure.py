"""Figure and table: accuracy by contrast difference, zoo agents beside the mice.

Usage::

    python docs/make_contrast_figure.py      # writes docs/img/contrast-psychometric.png

The mice: every trial of the seven Steinmetz et al. (2019) sessions in
``/work/shared/realdata/steinmetz`` (or ``--steinmetz DIR``), accuracy = share of
trials with ``feedback_type == +1`` at each absolute contrast difference. The
agents: every shipped ``contrast`` checkpoint, greedy, 200 trials per contrast pair
(:func:`neuroalign.zoo.behaviour.evaluate_behaviour`), pooled over the three seeds
of each agent. Error bars are 95% Wilson intervals. The markdown table printed is
the one in ``docs/parts/zoo.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def mice(folder: Path) -> dict:
    from neuroalign.zoo.behaviour import psychometric

    files = sorted(folder.glob("*.npz"))
    if not files:
        raise SystemExit(f"no Steinmetz .npz files in {folder}")
    contrast, valence = [], []
    for path in files:
        with np.load(path) as d:
            contrast.append(np.stack([d["contrast_left"], d["contrast_right"]], axis=1))
            valence.append(d["feedback_type"].astype(np.int64))
    out = psychometric(np.concatenate(contrast), np.concatenate(valence))
    out["n_sessions"] = len(files)
    return out


def agents() -> dict[str, dict]:
    from neuroalign.zoo import AGENTS, load_agent, shipped_seeds
    from neuroalign.zoo.behaviour import evaluate_behaviour, psychometric

    rows = {}
    for name in AGENTS:
        seeds = shipped_seeds(name, "contrast")
        if not seeds:
            continue
        pooled_k: dict[float, int] = {}
        pooled_n: dict[float, int] = {}
        for seed in seeds:
            res = evaluate_behaviour(load_agent(name, "contrast", seed, train_if_missing=False))
            for row in res["accuracy"]:
                pooled_k[row["difference"]] = pooled_k.get(row["difference"], 0) + row["k"]
                pooled_n[row["difference"]] = pooled_n.get(row["difference"], 0) + row["n"]
        diffs = sorted(pooled_n)
        # re-use psychometric's interval code on the pooled counts
        contrast = np.concatenate([np.tile([[0.0, d]], (pooled_n[d], 1)) for d in diffs])
        valence = np.concatenate([np.where(np.arange(pooled_n[d]) < pooled_k[d], 1, -1)
                                  for d in diffs])
        rows[name] = psychometric(contrast, valence)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steinmetz", type=Path, default=Path("/work/shared/realdata/steinmetz"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img"
                        / "contrast-psychometric.png")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neuroalign.core.atomic import atomic_file

    mouse = mice(args.steinmetz)
    zoo = agents()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, trunk in zip(axes, ("mlp", "gru"), strict=True):
        for name, res in zoo.items():
            if name.endswith("-gru") != (trunk == "gru"):
                continue
            d = [r["difference"] for r in res["accuracy"]]
            p = np.asarray([r["p"] for r in res["accuracy"]])
            err = np.abs(np.asarray([[r["ci_low"], r["ci_high"]] for r in res["accuracy"]]).T - p)
            ax.errorbar(d, p, yerr=err, marker="o", ms=4, capsize=2, label=name)
        d = [r["difference"] for r in mouse["accuracy"]]
        p = np.asarray([r["p"] for r in mouse["accuracy"]])
        err = np.abs(np.asarray([[r["ci_low"], r["ci_high"]] for r in mouse["accuracy"]]).T - p)
        ax.errorbar(d, p, yerr=err, marker="s", color="black", lw=2.5, capsize=3,
                    label=f"mice ({mouse['n_sessions']} sessions)")
        ax.set_title(f"{trunk.upper()} trunk agents vs mice")
        ax.set_xlabel("|contrast right - contrast left|")
        ax.axhline(0.5, color="grey", lw=0.5, ls=":")
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("accuracy (share rewarded), 95% Wilson CI")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(args.out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    print(f"wrote {args.out}")
    diffs = [r["difference"] for r in mouse["accuracy"]]
    print("| who | " + " | ".join(f"{d:.2f}" for d in diffs) + " |")
    print("|---|" + "---|" * len(diffs))
    for name, res in [("mice", mouse), *zoo.items()]:
        cells = {r["difference"]: r for r in res["accuracy"]}
        print(f"| {name} | " + " | ".join(
            f"{cells[d]['p']:.2f} [{cells[d]['ci_low']:.2f}, {cells[d]['ci_high']:.2f}]"
            for d in diffs) + " |")


if __name__ == "__main__":
    main()
