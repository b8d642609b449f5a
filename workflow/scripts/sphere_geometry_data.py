"""Data of figure sphere-geometry: inner-ball volume fractions and distances between random
points on the sphere, Lemma 1 beside Monte Carlo (spherical auto-encoder paper, Fig. 2, 3)."""

from latentspace import geometry, runlog, tables


def main(output, params, log):
    with runlog.logged(log) as logger:
        cfg = params.cfg
        volume, distances = geometry.sphere_geometry(cfg["dims"], cfg["epsilons"], cfg["n_pairs"], params.seed)
        logger.info("\n%s", distances.to_string(index=False))
        tables.write_csv(volume, output.volume)
        tables.write_csv(distances, output.distances)


main(snakemake.output, snakemake.params, snakemake.log[0])
