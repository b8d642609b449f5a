"""Figure sphere-geometry: (a) share of the ball's volume inside radius (1 - eps) r against d;
(b) mean and std of distances between random points of the unit sphere, Lemma 1 beside
Monte Carlo (spherical auto-encoder paper, Fig. 2 and 3)."""

import matplotlib.pyplot as plt
import pandas as pd

from latentspace import plotting, runlog


def main(input, output, log):
    with runlog.logged(log):
        volume = pd.read_csv(input.volume)
        dist = pd.read_csv(input.distances)
        plotting.use_style()
        fig, (a, b) = plt.subplots(1, 2, figsize=(7.0, 2.8))
        for eps, group in volume.groupby("eps"):
            a.plot(group["dim"], group["fraction"], label=rf"$\epsilon$ = {eps:g}")
        a.set_xscale("log")
        a.set_xlabel("dimension d")
        a.set_ylabel(r"$V((1-\epsilon) r) / V(r)$")
        a.legend()
        plotting.panel_label(a, "(a)")
        a.set_title("volume inside the shell")
        b.plot(dist["dim"], dist["mean_lemma1"], color="C1", label="mean, Lemma 1")
        b.fill_between(dist["dim"], dist["mean_lemma1"] - dist["std_lemma1"], dist["mean_lemma1"] + dist["std_lemma1"],
                       color="0.8", label="± std, Lemma 1")
        b.errorbar(dist["dim"], dist["mean_mc"], yerr=dist["std_mc"], fmt="o", ms=3, color="C0", capsize=2,
                   label="Monte Carlo mean ± std")
        b.axhline(2**0.5, color="0.5", ls="--", lw=0.8, label=r"$\sqrt{2}$")
        b.set_xscale("log")
        b.set_xlabel("dimension d")
        b.set_ylabel("distance between random points")
        b.legend(loc="lower right")
        plotting.panel_label(b, "(b)")
        b.set_title("unit sphere in $R^d$")
        plotting.save_figure(fig, output.pdf, output.png)


main(snakemake.input, snakemake.output, snakemake.log[0])
