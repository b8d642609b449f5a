"""Where training runs and what a job prints: the precision `auto` resolves to (from the
CPU's flags), the console filter of runlog.logged, and when a job may draw a progress bar."""

from __future__ import annotations

import logging

import pytest
import torch

from latentspace import device, runlog, training

FLAGS = "processor\t: 0\nflags\t\t: fpu sse sse2 avx2 avx512f {extra}\n"


@pytest.mark.parametrize(("extra", "has"), [("", False), ("avx512_bf16", True), ("amx_bf16 amx_tile", True),
                                            ("avx512_bf16x", False)])
def test_cpu_bf16_is_read_from_the_flags(tmp_path, extra, has):
    info = tmp_path / "cpuinfo"
    info.write_text(FLAGS.format(extra=extra))
    assert device.cpu_has_bf16(str(info)) is has


def test_cpu_bf16_is_false_without_cpuinfo(tmp_path):
    assert device.cpu_has_bf16(str(tmp_path / "absent")) is False


@pytest.mark.parametrize("has", [False, True])
def test_auto_precision_follows_the_hardware_on_the_cpu(monkeypatch, has):
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: has)
    assert device.resolve_precision("auto", torch.device("cpu")) == ("bfloat16" if has else "float32")
    assert device.resolve_precision("float32", torch.device("cpu")) == "float32"
    assert device.resolve_precision("bfloat16", torch.device("cpu")) == "bfloat16"


@pytest.mark.parametrize("has", [False, True])
def test_auto_precision_is_float32_on_cuda(monkeypatch, has):
    """On an H200 bfloat16 autocast slowed the papers' models (benchmarks/README.md)."""
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: has)
    assert device.resolve_precision("auto", torch.device("cuda")) == "float32"
    assert device.resolve_precision("bfloat16", torch.device("cuda")) == "bfloat16"


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="unknown precision 'half'"):
        device.resolve_precision("half", torch.device("cpu"))
    with pytest.raises(ValueError, match="'precision' must be one of auto, float32, bfloat16"):
        training.GANConfig(precision="half")


def test_a_run_records_its_resolved_precision_and_resumes_only_under_it(tmp_path, monkeypatch):
    from latentspace import data

    images = data.load("digits", split="train", size=8, limit=64)
    config = training.GANConfig(steps=2, batch_size=32, latent_dim=4, width=4, checkpoint_every=1,
                                precision="auto", device="cpu", num_threads=1)
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: False)
    result = training.train_gan(config, images, tmp_path, progress=False)
    assert result.precision == "float32"
    assert '"precision": "float32"' in (tmp_path / "config.json").read_text()
    assert result.summary().startswith("2 steps, ") and "(float32), d_loss " in result.summary()
    (tmp_path / "generator.pt").unlink()
    monkeypatch.setattr(device, "cpu_has_bf16", lambda: True)
    with pytest.raises(ValueError, match="precision: 'float32' -> 'bfloat16'"):
        training.train_gan(config, images, tmp_path, progress=False)


def test_console_gets_summaries_and_warnings_the_log_gets_everything(tmp_path, capsys):
    log = tmp_path / "job.log"
    with runlog.logged(log) as logger:
        logger.info("detail only for the log")
        logging.getLogger("latentspace.training").info("step 10/100  progress for the log")
        logger.info("model normal: 100 steps", extra=runlog.CONSOLE)
        logger.warning("something odd")
    console = capsys.readouterr().err
    assert "model normal: 100 steps" in console and "something odd" in console
    assert "detail only" not in console and "progress for the log" not in console and "done in" not in console
    text = log.read_text()
    for line in ("detail only for the log", "step 10/100", "model normal: 100 steps", "something odd", "done in"):
        assert line in text


def test_errors_reach_the_console(tmp_path, capsys):
    with pytest.raises(RuntimeError), runlog.logged(tmp_path / "job.log"):
        raise RuntimeError("the reason")
    assert "the reason" in capsys.readouterr().err


def test_without_a_log_file_everything_goes_to_the_console(capsys):
    with runlog.logged(None) as logger:
        logger.info("detail")
    assert "detail" in capsys.readouterr().err


@pytest.mark.parametrize(("tty", "threads", "cores", "shown"), [
    (True, 2, 2, True), (True, 1, 2, False), (False, 2, 2, False), (True, 1, None, False)])
def test_progress_bar_only_for_a_job_alone_in_a_terminal(monkeypatch, tty, threads, cores, shown):
    monkeypatch.setattr(runlog.sys.stderr, "isatty", lambda: tty)
    assert runlog.show_progress(threads, cores) is shown
    monkeypatch.setenv(runlog.WORKFLOW_CORES, str(cores or 0))
    assert runlog.show_progress(threads) is shown
