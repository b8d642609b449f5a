"""Table classifier: the feature extractor's test accuracy and training cost."""

import json

import pandas as pd

from latentspace import runlog
from latentspace.tables import write_table


def main(input, output, log):
    with runlog.logged(log) as logger:
        s = json.loads(open(input.summary).read())
        df = pd.DataFrame(
            [
                {
                    "dataset": s["dataset"],
                    "image size": s["size"],
                    "train images": s["n_train"],
                    "test images": s["n_test"],
                    "steps": s["config"]["steps"],
                    "test accuracy (%)": 100 * s["test_accuracy"],
                    "training time (s)": s["train_seconds"],
                }
            ]
        )
        write_table(df, output.tex, output.csv, formats={"test accuracy (%)": "{:.2f}", "training time (s)": "{:.0f}"},
                    caption="accuracy of the dataset classifier whose features and posteriors give FID and IS")
        logger.info("test accuracy %.4f", s["test_accuracy"])


main(snakemake.input, snakemake.output, snakemake.log[0])
