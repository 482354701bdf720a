"""How robust the synthetic benchmark's CNN training is: held-out auROC over seeds, per cell line.

The pipeline test asserts ``cnn_small``'s test auROC on `-profile test` (tests/pipeline/
test_pipeline.py::test_enhancer_detection_is_learned); that assertion must hold on every CPU, and
the CPU changes the summation order and so the training path. This trains ``cnn_small`` with the
`-profile test` settings (25 epochs, patience 5, batch 32, lr 3e-3, reverse-complement
augmentation) on the split tables of a `-profile test` run, once per seed, and prints every
test auROC, the minimum and the mean. Run it on each kind of machine, and with
``ATEN_CPU_CAPABILITY=avx2`` on an AVX-512 one (torch then takes its AVX2 kernels):

    make demo   # results/demo/regions/<cell>/<cell>.split.tsv
    .venv/bin/python benchmarks/training_seeds.py results/demo/regions/*/*.split.tsv --seeds 0 1 2 3 4

Last line: ``RESULT min_test_auroc=<x> mean_test_auroc=<y>`` over every cell line and seed.
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np
import torch

from regvarbench.io import read_tsv
from regvarbench.models.precision import cpu_native_bf16
from regvarbench.train import TrainConfig, train_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("split_tables", nargs="+", help="<cell>.split.tsv files of a -profile test run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hyperparameters", default="{}", help="JSON: cnn_small options to override")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    print(f"torch {torch.__version__}, dispatch {torch.backends.cpu.get_cpu_capability()}, "
          f"native bf16 {cpu_native_bf16()}, {args.threads} thread(s)")
    rows = []
    for path in args.split_tables:
        table = read_tsv(path)
        cell = str(table["cell_line"].iloc[0])
        for seed in args.seeds:
            config = TrainConfig(model_name="cnn_small", architecture="cnn_small",
                                 hyperparameters=json.loads(args.hyperparameters), epochs=25, patience=5,
                                 batch_size=32, lr=3e-3, seed=seed, reverse_complement_augment=True)
            result = train_model(table, config, str(path))
            test = result.detection.set_index("split").loc["test"]
            rows.append((cell, seed, float(test["auroc"]), int(result.spec["best_epoch"]),
                         int(result.spec["epochs_run"])))
            print(f"{cell} seed {seed}: test auROC {rows[-1][2]:.4f} (best epoch {rows[-1][3]} of {rows[-1][4]})",
                  flush=True)
    aurocs = np.array([r[2] for r in rows])
    for cell in dict.fromkeys(r[0] for r in rows):
        values = np.array([r[2] for r in rows if r[0] == cell])
        print(f"{cell}: min {values.min():.4f} mean {values.mean():.4f} max {values.max():.4f} over {len(values)} seeds")
    print(f"RESULT min_test_auroc={aurocs.min():.4f} mean_test_auroc={aurocs.mean():.4f}")


if __name__ == "__main__":
    main()
