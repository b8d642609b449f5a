"""The decoded-image stage of the workflow (rules/render.smk) on config/test.yaml: every
figure target of the test config, the latent grids behind them (rows, columns, labels,
shared endpoints, snapshots), a figure that rebuilds without decoding, and the checks of
the model names under `render:`. Reuses the one end-to-end run `built`."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import copy_of, fresh_config, planned_rules, rejected, snakemake

from latentspace.plotting import Grid

CFG = fresh_config()
REN = CFG["render"]
MODELS = sorted(CFG["models"])
MATCHED = ["two-point", "midpoints", "four-point", "vicinity", "random-walk"]


def render_figures(cfg: dict) -> list[str]:
    """The figure names the test config asks for (what RENDER_TARGETS should hold)."""
    ren, models = cfg["render"], sorted(cfg["models"])
    names = [f"samples-{m}" for m in models]
    names += [f"interp-{e}-{m}" for e in ("random", "opposite") for m in models]
    if any(cfg["models"][m]["prior"] == "cauchy" for m in models):
        names.append("interp-tails")
    names += ["operations-compare", "operations-compare-opposite"] if ren["operations_compare"]["model"] else []
    names += [f"{f}-{m}" for f in MATCHED for m in ren["matched"]["models"]]
    names += ["void-origin"] if ren["void_origin"]["models"] else []
    names += ["void-emergence"] if ren["void_emergence"]["model"] else []
    names += [f"void-shrunk-{m}" for m in ren["void_shrunk"]["models"]]
    names += [n for n in ("void-sparse", "void-orthogonal") if ren[n.replace("-", "_")]["model"]]
    return names


FIGURES = render_figures(CFG)


def load(built, name: str) -> Grid:
    return Grid.load(built / "results/data/grids" / f"{name}.npz")


def ts(n_steps: int) -> list[str]:
    return [f"{t:.3g}" for t in np.linspace(0, 1, n_steps)]


def check_images(grid: Grid) -> None:
    size = CFG["dataset"]["size"]
    assert grid.images is not None, "the grid must hold its decoded images"
    assert grid.images.shape == (*grid.shape, 1, size, size)
    assert np.isfinite(grid.images).all() and np.abs(grid.images).max() <= 1


def test_test_config_exercises_every_family():
    assert len(FIGURES) == len(set(FIGURES))
    for family in [
        "samples-",
        "interp-random-",
        "interp-opposite-",
        "interp-tails",
        "operations-compare",
        "operations-compare-opposite",
        *MATCHED,
        "void-origin",
        "void-emergence",
        "void-shrunk-",
    ]:
        assert any(name.startswith(family) for name in FIGURES), family


# --------------------------------------------------------------------------- figure files


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_figure_is_valid_pdf_and_png(built, name):
    pdf = (built / "results/figures" / f"{name}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    png = (built / "results/figures" / f"{name}.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


# Grids that other stages keep beside the render stage's (rules/autoencoders.smk).
OTHER_STAGES = {"reconstructions", "decoder-priors"}


@pytest.mark.slow
def test_no_other_grids(built):
    grids = sorted(p.stem for p in (built / "results/data/grids").glob("*.npz"))
    assert [g for g in grids if g not in OTHER_STAGES] == sorted(FIGURES)


# --------------------------------------------------------------------------- the grids


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_samples_grid_marks_and_counts_failed_samples(built, model):
    cfg = REN["samples"]
    grid = load(built, f"samples-{model}")
    assert grid.shape == (cfg["n_rows"], cfg["n_cols"])
    assert grid.latents.shape[2] == CFG["models"][model].get("latent_dim", 100)
    check_images(grid)
    norms = np.linalg.norm(grid.latents.astype(np.float64), axis=-1)
    assert grid.marked is not None
    np.testing.assert_array_equal(grid.marked, norms > grid.extra["norm_threshold"] * (1 + 1e-6))
    assert grid.extra["n_failed"] == int(grid.marked.sum())
    assert grid.extra["n_samples"] == cfg["n_rows"] * cfg["n_cols"]
    assert grid.extra["step"] == CFG["training"]["steps"]
    assert f"model {model}" in grid.title


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("endpoints", ["random", "opposite"])
def test_interpolation_grids(built, endpoints, model):
    cfg = REN["interpolations"]
    grid = load(built, f"interp-{endpoints}-{model}")
    assert grid.shape == (cfg.get("n_pairs", 4) * len(cfg.get("ops", ["linear"])), cfg["n_steps"])
    assert grid.col_labels == ts(cfg["n_steps"])
    assert grid.extra["endpoints"] == endpoints
    check_images(grid)
    z = grid.latents.astype(np.float64)
    if endpoints == "opposite":
        np.testing.assert_allclose(z[:, -1], -z[:, 0], atol=1e-6)
        mid = cfg["n_steps"] // 2
        assert grid.col_labels[mid] == "0.5"
        if cfg.get("ops", ["linear"]) == ["linear"]:
            np.testing.assert_allclose(z[:, mid], 0, atol=1e-5)  # the origin is the middle column
    else:
        assert not np.allclose(z[:, -1], -z[:, 0])


@pytest.mark.slow
def test_tails_grid_stacks_the_cauchy_models(built):
    cauchy = [m for m in MODELS if CFG["models"][m]["prior"] == "cauchy"]
    cfg = REN["interpolations"]
    grid = load(built, "interp-tails")
    assert grid.shape == (len(cauchy) * cfg["n_pairs"], cfg["n_steps"])
    labels = grid.row_labels if cfg["n_pairs"] == 1 else grid.row_groups
    assert sorted(set(labels)) == cauchy
    # tail endpoints: far beyond typical Cauchy norms
    samples = load(built, f"samples-{cauchy[0]}")
    norms = np.linalg.norm(grid.latents[:, [0, -1]].astype(np.float64), axis=-1)
    assert norms.min() > np.median(np.linalg.norm(samples.latents.astype(np.float64), axis=-1))


@pytest.mark.slow
def test_operations_compare_shares_the_endpoints(built):
    cfg = REN["operations_compare"]
    ops = cfg.get("ops", ["linear", "slerp", "normalized", "cauchy_linear", "spherical_cauchy_linear", "ot_matched"])
    grid = load(built, "operations-compare")
    assert grid.shape == (cfg["n_pairs"] * len(ops), cfg["n_steps"])
    assert grid.row_labels == ops * cfg["n_pairs"]
    assert grid.row_groups == [f"pair {p + 1}" for p in range(cfg["n_pairs"]) for _ in ops]
    assert grid.col_labels == ts(cfg["n_steps"])
    check_images(grid)
    z = grid.latents.astype(np.float64).reshape(cfg["n_pairs"], len(ops), cfg["n_steps"], -1)
    for col in (0, -1):  # t = 0 and t = 1: the same endpoints in every operation's row
        first = np.broadcast_to(z[:, :1, col], z[:, :, col].shape)
        np.testing.assert_allclose(z[:, :, col], first, rtol=1e-4, atol=1e-5)
    assert not np.allclose(z[0, 0, 0], z[1, 0, 0]), "the pairs must differ"
    # inside the path the operations differ (linear vs slerp at t = 1/2)
    mid = cfg["n_steps"] // 2
    assert not np.allclose(z[:, ops.index("linear"), mid], z[:, ops.index("slerp"), mid])


@pytest.mark.slow
def test_operations_compare_opposite_runs_every_operation_from_z_to_minus_z(built):
    # First paper, Fig. 18: Cauchy-linear (beside the other operations) between z and -z.
    cfg = REN["operations_compare"]
    ops = cfg.get("ops", ["linear", "slerp", "normalized", "cauchy_linear", "spherical_cauchy_linear", "ot_matched"])
    grid = load(built, "operations-compare-opposite")
    assert grid.shape == (cfg["n_pairs"] * len(ops), cfg["n_steps"])
    assert grid.row_labels == ops * cfg["n_pairs"]
    assert grid.extra["endpoints"] == "opposite" and "opposite points" in grid.title
    check_images(grid)
    z = grid.latents.astype(np.float64).reshape(cfg["n_pairs"], len(ops), cfg["n_steps"], -1)
    np.testing.assert_allclose(z[:, :, -1], -z[:, :, 0], rtol=1e-5, atol=1e-5)  # from z to -z
    np.testing.assert_allclose(z[:, :, 0], np.broadcast_to(z[:, :1, 0], z[:, :, 0].shape), rtol=1e-5, atol=1e-5)
    if cfg["n_steps"] % 2:  # t = 1/2: the origin for the odd maps of z (linear, Cauchy-linear, ...) ...
        mid = np.linalg.norm(z[:, :, cfg["n_steps"] // 2], axis=-1)
        through = [ops.index(op) for op in ("linear", "normalized", "cauchy_linear", "ot_matched") if op in ops]
        around = [ops.index(op) for op in ("slerp", "spherical_cauchy_linear") if op in ops]
        assert np.all(mid[:, through] < 1e-5)
        # ... while slerp and spherical Cauchy-linear keep the endpoints' norm
        np.testing.assert_allclose(mid[:, around], np.linalg.norm(z[:, around, 0], axis=-1), rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("model", REN["matched"]["models"])
def test_matched_grids(built, model):
    cfg = REN["matched"]
    ops = cfg.get("ops", ["linear", "slerp", "ot_matched"])

    two = load(built, f"two-point-{model}")
    assert two.shape == (cfg["two_point"]["n_pairs"] * len(ops), cfg["two_point"]["n_steps"])
    assert two.row_labels == ops * cfg["two_point"]["n_pairs"]

    mid = load(built, f"midpoints-{model}")
    n, per_row = cfg["midpoints"]["n_pairs"], cfg["midpoints"]["per_row"]
    assert mid.shape == (n // per_row * len(ops), per_row)
    assert mid.row_labels == ops * (n // per_row)
    assert mid.extra["n_pairs"] == n

    four = load(built, f"four-point-{model}")
    k = cfg["four_point"]["k"]
    assert four.shape == (k * len(ops), k)
    assert four.row_groups == [op for op in ops for _ in range(k)]
    z = four.latents.astype(np.float64).reshape(len(ops), k, k, -1)
    for i, j in [(0, 0), (0, -1), (-1, 0), (-1, -1)]:  # every operation has the same corners
        np.testing.assert_allclose(z[:, i, j], np.broadcast_to(z[:1, i, j], z[:, i, j].shape), rtol=1e-4, atol=1e-5)

    vic = load(built, f"vicinity-{model}")
    c, kv = cfg["vicinity"]["n_centers"], cfg["vicinity"]["k"]
    assert vic.shape == (2 * c, kv + 1)
    assert vic.row_labels == ["unmatched", "matched"] * c and vic.col_labels[0] == "z"
    np.testing.assert_array_equal(vic.latents[0::2, 0], vic.latents[1::2, 0])
    assert vic.extra["eps"] == cfg["vicinity"].get("eps", 0.5)

    walk = load(built, f"random-walk-{model}")
    w, steps = cfg["random_walk"]["n_walks"], cfg["random_walk"]["n_steps"]
    assert walk.shape == (2 * w, steps + 1)
    assert walk.row_labels == ["unmatched", "matched"] * w
    np.testing.assert_array_equal(walk.latents[0::2, 0], walk.latents[1::2, 0])
    assert not np.allclose(walk.latents[0::2, -1], walk.latents[1::2, -1])
    assert walk.extra["eps"] == cfg["random_walk"].get("eps", 0.5)

    for grid in (two, mid, four, vic, walk):
        check_images(grid)
        assert f"model {model}" in grid.title


@pytest.mark.slow
def test_void_origin_stacks_the_models(built):
    cfg = REN["void_origin"]
    grid = load(built, "void-origin")
    assert grid.shape == (len(cfg["models"]) * cfg.get("n_pairs", 1), cfg["n_steps"])
    assert grid.row_labels == cfg["models"]
    assert grid.row_name == "model"
    check_images(grid)
    z = grid.latents.astype(np.float64)
    np.testing.assert_allclose(z[:, -1], -z[:, 0], atol=1e-6)
    np.testing.assert_allclose(z[:, cfg["n_steps"] // 2], 0, atol=1e-5)


@pytest.mark.slow
def test_void_emergence_has_one_row_per_snapshot_and_the_final_model(built):
    cfg = REN["void_emergence"]
    final = CFG["models"][cfg["model"]].get("steps", CFG["training"]["steps"])
    steps = sorted(set(CFG["models"][cfg["model"]]["snapshot_steps"]) - {final}) + [final]
    grid = load(built, "void-emergence")
    assert grid.shape == (len(steps), cfg["n_steps"])
    assert grid.row_labels == [f"step {s}" for s in steps]
    assert grid.row_name == "training step"
    assert [grid.extra[f"step {s}/step"] for s in steps] == steps  # decoded by each snapshot
    check_images(grid)
    z = grid.latents
    np.testing.assert_array_equal(z, np.broadcast_to(z[:1], z.shape))  # the same codes for every snapshot
    np.testing.assert_allclose(z[:, -1], -z[:, 0], atol=1e-6)
    assert not np.array_equal(grid.images[0], grid.images[-1]), "snapshots must decode differently"


@pytest.mark.slow
@pytest.mark.parametrize("model", REN["void_shrunk"]["models"])
def test_void_shrunk_rows_scale_the_train_samples(built, model):
    cfg = REN["void_shrunk"]
    grid = load(built, f"void-shrunk-{model}")
    assert grid.shape == (1 + len(cfg["alphas"]), cfg["n_samples"])
    assert grid.row_labels == ["train"] + [f"test, alpha={a:g}" for a in cfg["alphas"]]
    check_images(grid)
    for i, alpha in enumerate(cfg["alphas"], start=1):
        np.testing.assert_allclose(grid.latents[i], alpha * grid.latents[0], rtol=1e-6, atol=1e-7)


@pytest.mark.slow
def test_same_stream_gives_same_codes_to_models_of_one_prior(built):
    # normal and fc share prior and dimension, so their sample grids start from the same codes
    same = [m for m in MODELS if CFG["models"][m]["prior"] == "normal"]
    assert len(same) >= 2
    a, b = (load(built, f"samples-{m}") for m in same[:2])
    np.testing.assert_array_equal(a.latents, b.latents)
    assert not np.array_equal(a.images, b.images)


# --------------------------------------------------------------------------- rebuilding


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "rule"), [("void-emergence", "plot_void_emergence"), ("samples-cauchy", "plot_model_grids")]
)
def test_one_figure_replots_without_decoding(built, tmp_path, name, rule):
    work = copy_of(built, tmp_path / "w")  # its own copy: no other test's rebuilds matter
    pdf = work / "results/figures" / f"{name}.pdf"
    pdf.unlink()
    run = snakemake(work, "-n", f"results/figures/{name}.pdf")
    assert run.returncode == 0, run.stderr
    assert planned_rules(run.stdout) == {rule: 1}, run.stdout  # no decoding, no training
    run = snakemake(work, "--cores", "1", f"results/figures/{name}.pdf")
    assert run.returncode == 0, run.stderr[-3000:]
    assert pdf.read_bytes().startswith(b"%PDF-")


# --------------------------------------------------------------------------- config checks

BAD_RENDER = [
    ({"void_origin": {"models": ["normal", "laplace"]}}, "render.void_origin.models", "'laplace' is not defined"),
    ({"matched": {"models": ["nope"]}}, "render.matched.models", "not defined under 'models:'"),
    ({"void_emergence": {"model": "cauchy"}}, "render.void_emergence.model", "snapshot_steps"),
    ({"void_sparse": {"model": "normal"}}, "render.void_sparse.model", "sparse prior"),
    ({"interpolations": {"n_steps": 4}}, "render.interpolations.n_steps", "must be odd"),
    ({"matched": {"midpoints": {"n_pairs": 5, "per_row": 2}}}, "render.matched.midpoints.n_pairs", "multiple"),
    ({"samples": {"colour": "red"}}, "render.samples", ""),
]


@pytest.mark.parametrize(("patch", "key", "words"), BAD_RENDER)
def test_bad_render_config_names_the_key(tmp_path, patch, key, words):
    cfg = fresh_config()
    for section, value in patch.items():
        cfg["render"][section] = {**cfg["render"].get(section, {}), **value}
    out = rejected(tmp_path, cfg)
    assert f"invalid config at {key}" in out, out[-2000:]
    assert words in out


# --------------------------------------------------------------------------- jobs


def test_one_decoding_and_one_plotting_job_per_model(tmp_path):
    run = snakemake(tmp_path, "-n")
    assert run.returncode == 0, run.stderr[-3000:]
    planned = planned_rules(run.stdout)
    decode = {r: n for r, n in planned.items() if r.startswith("model_grids")}
    plot = {r: n for r, n in planned.items() if r.startswith("plot_model_grids")}
    assert sum(decode.values()) == len(MODELS), planned
    assert {f"plot_{r}": n for r, n in decode.items()} == plot
    # models with the matched figures and void-shrunk share a rule named after them
    both = set(REN["matched"]["models"]) & set(REN["void_shrunk"]["models"])
    assert both and decode["model_grids_with_matched_void_shrunk"] == len(both)


@pytest.mark.slow
def test_one_grid_rebuilds_with_its_models_grids_only(built, tmp_path):
    work = copy_of(built, tmp_path / "w")
    (work / "results/data/grids/interp-random-cauchy.npz").unlink()
    run = snakemake(work, "-n", "results/data/grids/interp-random-cauchy.npz")
    assert run.returncode == 0, run.stderr
    assert planned_rules(run.stdout) == {"model_grids": 1}, run.stdout  # that model's decoding job, no training
    (work / "results/figures/interp-random-cauchy.pdf").unlink()
    run = snakemake(work, "-n", "results/figures/interp-random-cauchy.pdf")
    assert run.returncode == 0, run.stderr
    assert planned_rules(run.stdout) == {"model_grids": 1, "plot_model_grids": 1}, run.stdout
    assert "wildcards: model=cauchy" in run.stdout


@pytest.mark.slow
def test_console_shows_one_summary_per_training_job_and_no_progress_bars(built):
    console = (built / "console.txt").read_text()
    assert "\r" not in console and "step/s" not in console and "it/s" not in console
    for model, spec in CFG["models"].items():
        steps = spec.get("steps", CFG["training"]["steps"])
        lines = [line for line in console.splitlines() if f" model {model}: " in line]
        assert len(lines) == 1 and f": {steps} steps, " in lines[0] and "images/s" in lines[0], (model, lines)
        assert "d_loss" in lines[0] and "g_loss" in lines[0]
    ours = [line for line in console.splitlines() if " INFO " in line]
    assert ours and all(" model " in line or "auto-encoder " in line or "classifier: " in line for line in ours), ours
    log = (built / "results/logs" / f"train_gan_{MODELS[0]}.log").read_text()
    assert " step " in log and "images/s" in log and "s left" in log  # progress went to the log
