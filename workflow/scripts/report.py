"""Execute the report notebook with papermill and convert it to one HTML page (nbconvert)."""

import json
import os
import sys
import tempfile
from pathlib import Path

import papermill
from nbconvert import HTMLExporter

from latentspace import runlog
from latentspace.atomic import write_text

KERNEL = "latentspace-report"


def kernel_dir(root: Path) -> Path:
    """A Jupyter data dir whose one kernel runs this interpreter, so the notebook runs in
    this rule's environment whatever kernels the user has installed elsewhere."""
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--IPKernelApp.log_level=ERROR"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    return root


def main(input, output, params, log):
    with runlog.logged(log) as logger:
        items = [{**item, "path": str(Path(item["path"]).resolve())} for item in params.entries]
        logger.info("%d items (%d figures) from %s", len(items), sum(i["kind"] == "figure" for i in items), input.notebook)
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["JUPYTER_PATH"] = str(kernel_dir(Path(tmp)))
            papermill.execute_notebook(
                input.notebook,
                output.notebook,
                parameters={"items": items, "papers": list(params.papers),
                            "provenance": json.loads(Path(input.provenance).read_text())},
                kernel_name=KERNEL,
                cwd=os.getcwd(),
                progress_bar=False,
                request_save_on_cell_execute=False,
            )
        html, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True).from_filename(
            output.notebook
        )
        write_text(output.html, html)
        logger.info("wrote %s (%.1f MB)", output.html, len(html.encode()) / 1e6)


main(snakemake.input, snakemake.output, snakemake.params, snakemake.log[0])
