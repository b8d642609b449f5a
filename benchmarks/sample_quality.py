"""Sample quality per CPU-second: the normal-prior GAN of the default config trained for a
range of steps, in float32 and in bfloat16 autocast, for several seeds; FID of each
snapshot in the in-workflow classifier's features against wall-clock training seconds.

The model is the default config's ``normal`` model (DCGAN without batch normalisation,
width 16, latent 100, Adam 2e-4 / 0.5, batch 64, Fashion-MNIST 32 x 32). Each run is one
:func:`latentspace.training.train_gan` call with snapshots at the listed steps; the clock
is read when each snapshot step has finished (its checkpoint written), so the seconds are
training seconds, snapshots and checkpoints included, evaluation excluded. The yardstick is
the workflow's own: the dataset classifier of ``metrics.classifier`` (2,000 steps, seed as in
the workflow), reference statistics of the whole test split, FID of ``--n`` generated images
drawn from the prior (8-bit quantized, as every table of the workflow scores them).

Runs go ``--jobs`` at a time (default 2, one torch thread each, as the workflow runs its
training jobs side by side on 2 cores); the float32 and bfloat16 runs of one seed run at the
same time, so both meet the same load.

    .venv/bin/python benchmarks/sample_quality.py --root resources                 # the full curve
    .venv/bin/python benchmarks/sample_quality.py --root resources --steps 200 400 --seeds 0 --n 1000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import statistics
import time
from pathlib import Path

DEFAULT_STEPS = (1000, 2000, 3000, 4000, 6000, 8000, 10000, 12000)


def _dataset(root: str) -> dict:
    return {"name": "fashion-mnist", "root": root, "size": 32, "limit": None}


def _classifier(root: str, out: Path, seed: int) -> Path:
    """The workflow's classifier (rule train_classifier with the default config), trained
    once and kept in ``out``."""
    from latentspace import classifier, data, runlog

    path = out / "classifier.pt"
    if not path.exists():
        ds = _dataset(root)
        config = classifier.ClassifierConfig.from_dict(
            {"steps": 2000, "seed": runlog.seed_for(seed, "classifier"), "num_threads": 2}
        )
        result = classifier.train_classifier(
            data.load_configured(ds, "train"), data.load_configured(ds, "test", limit=None), path, config,
            progress=False,
        )
        print(f"classifier: test accuracy {result.test_accuracy:.4f} ({result.train_seconds:.0f} s)", flush=True)
    return path


def _train_and_score(task: dict) -> list[dict]:
    import torch

    from latentspace import data, evaluation, metrics, priors, render, training

    torch.set_num_threads(1)
    run_dir = Path(task["out"]) / f"{task['precision']}-seed{task['seed']}"
    steps = task["steps"]
    config = training.GANConfig(
        steps=max(steps), batch_size=64, latent_dim=100, prior="normal", width=16, seed=task["seed"],
        checkpoint_every=max(steps), snapshot_steps=tuple(steps), num_threads=1, precision=task["precision"],
        device="cpu",
    )
    clock: dict[int, float] = {}
    start = time.perf_counter()

    def on_step(step: int) -> None:
        if step in steps:
            clock[step] = time.perf_counter() - start

    if (run_dir / "generator.pt").exists():
        raise SystemExit(f"{run_dir} holds a finished run: delete it (or use a new --out) to time a fresh one")
    train = data.load_configured(_dataset(task["root"]), "train")
    training.train_gan(config, train, run_dir, progress=False, on_step=on_step)

    extractors = evaluation.load_extractors(["classifier"], task["classifier"], device="cpu")
    reference = {"classifier": metrics.FeatureStats.load(task["reference"])}
    prior = priors.get("normal")
    rows = []
    for step in steps:
        model = render.load_model(run_dir / "snapshots" / f"generator-step{step:07d}.pt", "cpu")
        z = prior.sample(task["n"], 100, generator=torch.Generator().manual_seed(1234))
        result = evaluation.score(model.generator, z, ["fid_classifier"], extractors, reference, splits=5)
        row = {"precision": task["precision"], "seed": task["seed"], "steps": step, "seconds": round(clock[step], 1),
               "fid": round(result["fid_classifier"].value, 2)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="resources", help="dataset root (Fashion-MNIST prepared there)")
    parser.add_argument("--out", default="benchmarks/runs/sample_quality", help="run directories and classifier")
    parser.add_argument("--steps", type=int, nargs="+", default=list(DEFAULT_STEPS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--n", type=int, default=5000, help="generated images per FID")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workflow-seed", type=int, default=0, help="the config's seed (classifier)")
    args = parser.parse_args()

    import torch

    from latentspace import data, evaluation, metrics

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    classifier_path = _classifier(args.root, out, args.workflow_seed)
    reference_path = out / "reference-classifier.npz"
    if not reference_path.exists():
        (extractor,) = evaluation.load_extractors(["classifier"], str(classifier_path), device="cpu").values()
        test = data.load_configured(_dataset(args.root), "test", limit=None)
        metrics.reference_stats(extractor, test, threads=2).save(reference_path)

    tasks = [
        {"precision": p, "seed": s, "steps": sorted(args.steps), "root": args.root, "out": str(out), "n": args.n,
         "classifier": str(classifier_path), "reference": str(reference_path)}
        for s in args.seeds for p in args.precisions
    ]
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{len(tasks)} runs, {args.jobs} at a time, 1 thread each", flush=True)
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        rows = [row for rows in pool.map(_train_and_score, tasks, chunksize=1) for row in rows]
    (out / "curve.json").write_text(json.dumps(rows, indent=1) + "\n")

    print("\nsteps  precision  seconds (mean)  FID per seed            FID mean +- std")
    for step in sorted(args.steps):
        for precision in args.precisions:
            sel = [r for r in rows if r["steps"] == step and r["precision"] == precision]
            fids = [r["fid"] for r in sel]
            spread = statistics.stdev(fids) if len(fids) > 1 else float("nan")
            print(f"{step:5d}  {precision:9s}  {statistics.mean(r['seconds'] for r in sel):14.0f}  "
                  f"{' '.join(f'{f:6.1f}' for f in fids):22s}  {statistics.mean(fids):6.1f} +- {spread:4.1f}")


if __name__ == "__main__":
    main()
