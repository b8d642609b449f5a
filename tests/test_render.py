"""Latent grids of the image figures (latentspace.render) and their figures
(latentspace.plotting.Grid, image_grid, grid_figure): shapes and labels of every builder,
shared endpoints and directions across the rows of a comparison, the void probes' latents,
batched decoding, the .npz round trip and the figure. A tiny untrained DCGAN decodes."""

import math

import numpy as np
import pytest
import scipy.stats
import torch

from latentspace import models, plotting, priors, render, training
from latentspace.plotting import Grid

DIM = 8
ALL_OPS = ["linear", "slerp", "normalized", "cauchy_linear", "spherical_cauchy_linear", "ot_matched"]


def tiny_generator(channels: int = 1) -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return models.build_generator("dcgan", latent_dim=DIM, image_size=16, channels=channels, width=4).eval()


@pytest.fixture(scope="module")
def gen():
    return tiny_generator()


def rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


NORMAL, UNIFORM, CAUCHY = priors.get("normal"), priors.get("uniform"), priors.get("cauchy")


# --------------------------------------------------------------------------- decoding


def test_decode_in_batches_equals_one_batch(gen):
    z = NORMAL.sample(2 * 7, DIM, generator=rng()).reshape(2, 7, DIM)
    whole = render.decode(gen, z, batch_size=1000)
    parts = render.decode(gen, z, batch_size=3)
    assert whole.shape == (2, 7, 1, 16, 16) and whole.dtype == torch.float32 and whole.device.type == "cpu"
    torch.testing.assert_close(parts, whole, rtol=0, atol=1e-6)
    assert whole.abs().max() <= 1
    assert not gen.training


def test_render_fills_images_and_saturation(gen):
    grid = render.render(render.samples(CAUCHY, DIM, rng(), n_rows=3, n_cols=4, q=0.5), gen, batch_size=5)
    assert grid.images.shape == (3, 4, 1, 16, 16) and grid.images.dtype == np.float16
    np.testing.assert_allclose(
        grid.images.astype(np.float32), render.decode(gen, torch.from_numpy(grid.latents)).numpy(), atol=1e-3
    )
    assert {"saturation", "saturation_marked", "saturation_unmarked"} <= set(grid.extra)


# --------------------------------------------------------------------------- builders


@pytest.mark.parametrize("prior", [NORMAL, CAUCHY, priors.get("discrete")], ids=lambda p: p.name)
def test_samples_mark_and_count_tail_samples(prior):
    grid = render.samples(prior, DIM, rng(), n_rows=5, n_cols=6, q=0.8)
    assert grid.shape == (5, 6) and grid.latents.shape == (5, 6, DIM)
    assert grid.row_labels == [str(i) for i in range(1, 6)] and grid.col_labels == [str(j) for j in range(1, 7)]
    threshold = grid.extra["norm_threshold"]
    norms = np.linalg.norm(grid.latents.astype(np.float64), axis=-1)
    np.testing.assert_array_equal(grid.marked, norms > threshold * (1 + 1e-6))
    assert grid.extra["n_failed"] == grid.marked.sum() and grid.extra["n_samples"] == 30
    assert f"{grid.extra['n_failed']} of 30" in grid.title
    if prior is NORMAL:  # exact norm law: chi with D degrees of freedom
        assert threshold == pytest.approx(scipy.stats.chi(DIM).ppf(0.8), rel=1e-9)


def test_operation_comparison_shares_endpoints():
    ts = np.linspace(0, 1, 5)
    grid = render.interpolations(NORMAL, DIM, rng(), ops=ALL_OPS, n_pairs=3, n_steps=5)
    assert grid.shape == (18, 5)
    assert grid.row_labels == ALL_OPS * 3
    assert grid.row_groups == [f"pair {p}" for p in (1, 2, 3) for _ in ALL_OPS]
    assert grid.col_labels == ["0", "0.25", "0.5", "0.75", "1"] and grid.col_name == "t"
    blocks = grid.latents.reshape(3, len(ALL_OPS), 5, DIM)
    for end in (0, -1):  # t = 0 and t = 1: the same endpoints in every operation's row
        np.testing.assert_allclose(blocks[:, :, end], np.repeat(blocks[:, :1, end], len(ALL_OPS), axis=1), atol=1e-5)
    assert not np.allclose(blocks[0, 0, 0], blocks[1, 0, 0])  # different pairs
    z1, z2 = blocks[:, 0, 0], blocks[:, 0, -1]
    linear = (1 - ts)[None, :, None] * z1[:, None] + ts[None, :, None] * z2[:, None]
    np.testing.assert_allclose(blocks[:, 0], linear, atol=1e-6)


def test_single_operation_rows_are_pairs():
    grid = render.interpolations(UNIFORM, DIM, rng(), ops=["slerp"], n_pairs=4, n_steps=3)
    assert grid.shape == (4, 3) and grid.row_labels == ["pair 1", "pair 2", "pair 3", "pair 4"]
    assert grid.row_groups is None and "slerp" in grid.title


def test_opposite_interpolation_ends_at_minus_z():
    grid = render.interpolations(NORMAL, DIM, rng(), n_pairs=3, n_steps=7, endpoints="opposite")
    np.testing.assert_array_equal(grid.latents[:, -1], -grid.latents[:, 0])
    np.testing.assert_allclose(grid.latents[:, 3], 0, atol=1e-7)  # the linear path crosses the origin at t = 1/2


def test_tail_endpoints_have_large_norms():
    z1, z2 = render.endpoint_pairs(CAUCHY, 2, DIM, rng(), kind="tails", tail_q=0.99)
    fresh = CAUCHY.sample(20000, DIM, generator=rng(1), dtype=torch.float64).norm(dim=-1)
    # The 4 largest of 400 draws lie beyond the 0.9-quantile unless 397 of 400 draws fall
    # below it: probability about 1e-14.
    assert torch.cat([z1, z2]).norm(dim=-1).min() > fresh.quantile(0.9)
    grid = render.interpolations(CAUCHY, DIM, rng(), n_pairs=2, n_steps=3, endpoints="tails")
    np.testing.assert_allclose(grid.latents[:, 0], z1.float().numpy(), rtol=1e-6)


def test_same_seed_same_latents():
    """What makes every training snapshot (or model with the same prior) decode the same codes."""
    a = render.interpolations(NORMAL, DIM, rng(5), endpoints="opposite")
    b = render.interpolations(NORMAL, DIM, rng(5), endpoints="opposite")
    np.testing.assert_array_equal(a.latents, b.latents)


def test_midpoints_of_the_same_pairs():
    grid = render.midpoints(NORMAL, DIM, rng(), n_pairs=6, per_row=3)
    assert grid.shape == (6, 3) and grid.row_labels == ["linear", "slerp", "ot_matched"] * 2
    assert grid.row_groups == ["pairs 1-3"] * 3 + ["pairs 4-6"] * 3
    lines = grid.latents.reshape(2, 3, 3, DIM)
    # Normal prior: the matched midpoint is the linear one divided by ||(1/2, 1/2)|| = 1/sqrt 2.
    np.testing.assert_allclose(lines[:, 2], math.sqrt(2) * lines[:, 0], rtol=1e-5)
    with pytest.raises(ValueError, match="multiple of per_row"):
        render.midpoints(NORMAL, DIM, rng(), n_pairs=25, per_row=4)


@pytest.mark.parametrize("prior", [NORMAL, UNIFORM], ids=lambda p: p.name)
def test_four_point_grids_share_corners(prior):
    k = 4
    grid = render.four_point(prior, DIM, rng(), k=k)
    assert grid.shape == (3 * k, k)
    assert grid.row_groups == ["linear"] * k + ["slerp"] * k + ["ot_matched"] * k
    assert grid.row_labels[:k] == ["a=0", "a=0.333", "a=0.667", "a=1"] and grid.col_labels[-1] == "b=1"
    blocks = grid.latents.reshape(3, k, k, DIM)
    corners = blocks[:, [0, 0, -1, -1], [0, -1, 0, -1]]  # (ops, 4, D)
    np.testing.assert_allclose(corners, np.repeat(corners[:1], 3, axis=0), atol=1e-5)
    np.testing.assert_allclose(
        blocks[0, 1, 1], (4 * corners[0, 0] + 2 * corners[0, 1] + 2 * corners[0, 2] + corners[0, 3]) / 9, atol=1e-6
    )
    if prior is UNIFORM:
        assert np.abs(blocks[2]).max() <= 1  # matched stays in the prior's support


@pytest.mark.parametrize("prior", [NORMAL, UNIFORM], ids=lambda p: p.name)
def test_vicinity_matched_and_unmatched_share_directions(prior):
    eps = 0.5
    grid = render.vicinity(prior, DIM, rng(), n_centers=3, k=5, eps=eps)
    assert grid.shape == (6, 6) and grid.row_labels == ["unmatched", "matched"] * 3
    assert grid.col_labels == ["z", "1", "2", "3", "4", "5"]
    pairs = grid.latents.reshape(3, 2, 6, DIM)
    np.testing.assert_array_equal(pairs[:, 0, 0], pairs[:, 1, 0])
    if prior is NORMAL:  # matched vicinity of the normal prior: (z + eps u) / sqrt(1 + eps^2)
        np.testing.assert_allclose(pairs[:, 1, 1:], pairs[:, 0, 1:] / math.sqrt(1 + eps**2), rtol=1e-5)
    else:
        assert np.abs(pairs[:, 1]).max() <= 1 and np.abs(pairs[:, 0]).max() > 1


def test_random_walk_matched_and_unmatched_share_directions():
    eps = 0.5
    grid = render.random_walk(NORMAL, DIM, rng(), n_walks=2, n_steps=4, eps=eps)
    assert grid.shape == (4, 5) and grid.col_labels == ["0", "1", "2", "3", "4"] and grid.col_name == "step"
    walks = grid.latents.reshape(2, 2, 5, DIM)
    np.testing.assert_array_equal(walks[:, 0, 0], walks[:, 1, 0])
    np.testing.assert_allclose(walks[:, 1, 1], walks[:, 0, 1] / math.sqrt(1 + eps**2), rtol=1e-5)
    uniform = render.random_walk(UNIFORM, DIM, rng(), n_walks=2, n_steps=4, eps=eps).latents.reshape(2, 2, 5, DIM)
    assert np.abs(uniform[:, 1]).max() <= 1


def test_shrunk_test_samples_are_alpha_times_train():
    grid = render.shrunk(UNIFORM, DIM, rng(), alphas=[0.5, 0.0], n_samples=6)
    assert grid.shape == (3, 6) and grid.row_labels == ["train", "test, alpha=0.5", "test, alpha=0"]
    train = grid.latents[0]
    np.testing.assert_allclose(
        np.linalg.norm(grid.latents[1], axis=-1), 0.5 * np.linalg.norm(train, axis=-1), rtol=1e-6
    )
    np.testing.assert_array_equal(grid.latents[1], 0.5 * train)
    np.testing.assert_array_equal(grid.latents[2], 0)
    with pytest.raises(ValueError, match="alphas"):
        render.shrunk(UNIFORM, DIM, rng(), alphas=[1.5])


def test_sparse_probe_scales_dense_samples(stats):
    k, n = 4, 4000
    grid = render.sparse(priors.get("sparse", k=k), DIM, rng(), n_samples=n)
    assert grid.shape == (2, n) and grid.extra["scale"] == pytest.approx(math.sqrt(k / DIM))
    train, test = grid.latents.astype(np.float64)
    assert ((train != 0).sum(axis=-1) == k).all()
    assert (test != 0).all()
    # Test coordinates are sqrt(K/D) N(0, 1): E[x^2] = K / D = 1/2, Var[x^2] = 2 (K/D)^2.
    sq = (test**2).ravel()
    se = math.sqrt(2 * (k / DIM) ** 2 / sq.size)
    assert abs(sq.mean() - k / DIM) < stats.z_critical() * se
    with pytest.raises(ValueError, match="sparse prior"):
        render.sparse(NORMAL, DIM, rng())


def test_orthogonal_probes_zero_patterns():
    k = 3
    grid = render.orthogonal(priors.get("orthogonal", k=k), DIM, rng(), n_samples=5)
    assert grid.row_labels == ["(a) test", "(b) train", "(c) train + test", "(d) 3 test + train"]
    a, b, c, d = grid.latents
    assert (a[:, :k] == 0).all() and (a[:, k:] != 0).all()  # test: first K coordinates zero
    assert (b[:, k:] == 0).all() and (b[:, :k] != 0).all()  # train: last D - K coordinates zero
    np.testing.assert_array_equal(c, a + b)
    np.testing.assert_allclose(d, 3 * a + b, rtol=1e-6)
    with pytest.raises(ValueError, match="orthogonal prior"):
        render.orthogonal(NORMAL, DIM, rng())


def test_build_by_name_checks_kind_and_params():
    assert set(render.builders()) == {
        "samples", "interpolations", "midpoints", "four_point", "vicinity", "random_walk", "shrunk", "sparse", "orthogonal"
    }  # fmt: skip
    grid = render.build("interpolations", NORMAL, DIM, rng(), ops=["linear", "slerp"], n_pairs=1)
    assert grid.row_labels == ["linear", "slerp"]
    with pytest.raises(ValueError, match="unknown grid kind 'sample'; valid kinds: samples"):
        render.build("sample", NORMAL, DIM)
    with pytest.raises(ValueError, match="unknown parameter.*n_pair;"):
        render.build("interpolations", NORMAL, DIM, n_pair=3)
    with pytest.raises(ValueError, match="not a 2-point interpolation"):
        render.build("interpolations", NORMAL, DIM, ops=["vicinity"])
    with pytest.raises(ValueError, match="unknown kind 'far'"):
        render.build("interpolations", NORMAL, DIM, endpoints="far")


# --------------------------------------------------------------------------- files and figures


def decoded_grid(gen) -> Grid:
    grid = render.render(
        render.interpolations(NORMAL, DIM, rng(), ops=["linear", "ot_matched"], n_pairs=2, n_steps=3), gen
    )
    grid.marked = np.zeros(grid.shape, dtype=bool)
    grid.marked[1, 2] = True
    return grid


def test_save_load_round_trip(gen, tmp_path):
    grid = decoded_grid(gen)
    path = tmp_path / "sub" / "grid.npz"
    grid.save(path)
    back = Grid.load(path)
    for name in ("latents", "images", "marked"):
        np.testing.assert_array_equal(getattr(back, name), getattr(grid, name))
        assert getattr(back, name).dtype == getattr(grid, name).dtype
    for name in ("row_labels", "col_labels", "row_groups", "row_name", "col_name", "title", "extra"):
        assert getattr(back, name) == getattr(grid, name)
    with np.load(path, allow_pickle=False) as f:  # no pickled objects
        assert "images" in f.files
    bare = render.samples(NORMAL, DIM, rng(), n_rows=1, n_cols=2)
    bare.save(tmp_path / "bare.npz")
    assert Grid.load(tmp_path / "bare.npz").images is None


def test_grid_checks_shapes():
    with pytest.raises(ValueError, match="row_labels must have 2 entries"):
        Grid(latents=np.zeros((2, 3, 4)), row_labels=["a"], col_labels=["1", "2", "3"])
    with pytest.raises(ValueError, match="images must have shape"):
        Grid(
            latents=np.zeros((2, 3, 4)),
            row_labels=["a", "b"],
            col_labels=["1", "2", "3"],
            images=np.zeros((2, 3, 16, 16)),
        )


def test_stack_and_take(gen):
    a = render.interpolations(NORMAL, DIM, rng(), n_pairs=1, n_steps=3)
    b = render.interpolations(NORMAL, 5, rng(), n_pairs=1, n_steps=3)
    stacked = Grid.stack([a, b], ["D = 8", "D = 5"], row_name="model")
    assert stacked.row_labels == ["D = 8", "D = 5"] and stacked.row_groups is None and stacked.row_name == "model"
    assert stacked.latents.shape == (2, 3, DIM) and np.isnan(stacked.latents[1, :, 5:]).all()
    assert stacked.extra["D = 5/n_pairs"] == 1
    two = Grid.stack([decoded_grid(gen), decoded_grid(gen)], ["step 1", "step 2"])
    assert two.shape == (8, 3) and two.row_groups[0] == "step 1, pair 1" and two.images.shape[0] == 8
    assert two.take([0, 4]).row_groups == ["step 1, pair 1", "step 2, pair 1"]
    with pytest.raises(ValueError, match="NaN latents"):
        render.render(stacked, gen)


@pytest.mark.parametrize("channels", [1, 3])
def test_grid_figure(channels, tmp_path):
    g = tiny_generator(channels)
    grid = decoded_grid(g)
    plotting.use_style()
    fig = plotting.grid_figure(grid, labels={"pair 1": "first pair"})
    (ax,) = fig.axes
    mosaic = ax.images[0].get_array()
    pad, gap = 1, 3  # 16-pixel cells: 1-pixel gaps, 3 more between row groups
    assert mosaic.shape[:2] == (4 * 16 + 3 * pad + gap, 3 * 16 + 2 * pad)
    assert mosaic.ndim == (2 if channels == 1 else 3)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["linear", "matched"] * 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.5", "1"]
    assert [t.get_text() for t in ax.child_axes[0].get_yticklabels()] == ["first pair", "pair 2"]
    assert len(ax.patches) == 1  # the marked cell's frame
    plotting.save_figure(fig, tmp_path / "grid.pdf")
    assert (tmp_path / "grid.pdf").stat().st_size > 0 and (tmp_path / "grid.png").stat().st_size > 0
    with pytest.raises(ValueError, match="no images"):
        plotting.grid_figure(render.samples(NORMAL, DIM, rng(), n_rows=1, n_cols=1))


def test_run_from_checkpoints(gen, tmp_path):
    """What a workflow script does: one call per checkpoint, the same latents for every
    snapshot, then a stack named by training step."""
    config = training.GANConfig(latent_dim=DIM, width=4, prior="uniform")
    paths = []
    for step in (10, 20):
        path = tmp_path / f"generator-step{step:07d}.pt"
        torch.save(training._generator_file(gen, config, step, 16, 1), path)
        paths.append(path)
    params = {"endpoints": "opposite", "n_pairs": 1, "n_steps": 3}
    grids = [render.run("interpolations", p, params, seed=7, device="cpu") for p in paths]
    assert grids[0].extra["step"] == 10 and grids[1].extra["prior"] == "Uniform()"
    np.testing.assert_array_equal(grids[0].latents, grids[1].latents)
    assert np.abs(grids[0].latents).max() <= 1  # drawn from the checkpoint's (uniform) prior
    stacked = Grid.stack(grids, ["10", "20"], row_name="training step")
    assert stacked.shape == (2, 3) and stacked.images.shape == (2, 3, 1, 16, 16)
    model = render.load_model(paths[0])
    assert model.latent_dim == DIM and model.step == 10 and isinstance(model.prior, priors.Uniform)


def test_decoding_imports_no_matplotlib_and_plotting_no_torch():
    """The torch env's decoding jobs and the analysis env's plotting jobs each import only
    their own stack: Grid (latentspace.grids) is numpy only."""
    import subprocess
    import sys

    code = ("import sys, latentspace.{mod}; bad = [m for m in sys.modules if m.split('.')[0] == '{bad}']; "
            "print(bad); sys.exit(1 if bad else 0)")
    for mod, bad in (("render", "matplotlib"), ("autoencoders", "matplotlib"), ("grids", "torch"),
                     ("grids", "matplotlib"), ("plotting", "torch")):
        run = subprocess.run([sys.executable, "-c", code.format(mod=mod, bad=bad)], capture_output=True, text=True)
        assert run.returncode == 0, f"latentspace.{mod} imports {bad}: {run.stdout}{run.stderr[-500:]}"
    from latentspace import grids, plotting

    assert plotting.Grid is grids.Grid
