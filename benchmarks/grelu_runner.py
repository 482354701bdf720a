"""Run gReLU's variant-effect prediction on our cnn_small, timed; for benchmarks/score_throughput.py (c).

Runs in gReLU's own virtual environment (``grelu==1.1.0`` with the same torch as ours; it pins
transformers through enformer-pytorch, so it must never share our venv). The network is our
``CNNSmall``, rebuilt from our spec with the same saved weights (our source tree is put on
sys.path; only torch/numpy/pandas are needed from it), placed inside a gReLU ``LightningModel``
(binary task, so gReLU applies the sigmoid) in place of the ConvModel it builds. Then
``grelu.variant.predict_variant_effects`` scores the variants against a local FASTA (with
``.fai`` and ``.sizes`` beside it, so nothing is downloaded), ``compare_func="divide"``.

Prints one JSON line: variants, wall and CPU seconds of the predict_variant_effects call, and
writes the ref/alt probabilities it predicted to ``--out`` so the caller can check they are ours.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="our model directory (spec.json, model.pt)")
    parser.add_argument("--variants", required=True, help="TSV with chrom, pos, ref, alt")
    parser.add_argument("--genome", required=True, help="FASTA path with .fai and .sizes beside it")
    parser.add_argument("--seq-len", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64, help="gReLU's default for predict_variant_effects")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--src", required=True, help="our src/ directory")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, args.src)
    from grelu.lightning import LightningModel
    from grelu.variant import predict_variant_effects

    from regvarbench.models import load_model

    net = load_model(args.model_dir).model.float().eval()

    class Wrapped(torch.nn.Module):
        """Our network with gReLU's output shape (batch, tasks, length) = (B, 1, 1)."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x).view(-1, 1, 1)

    lm = LightningModel(model_params={"model_type": "ConvModel", "n_tasks": 1, "n_conv": 0},
                        train_params={"task": "binary", "loss": "bce"})
    lm.model = Wrapped(net)
    lm.data_params = {"tasks": {"name": ["enhancer"]}, "train": {"seq_len": args.seq_len}}
    lm.eval()
    variants = pd.read_csv(args.variants, sep="\t")
    wall, cpu = time.perf_counter(), time.process_time()
    odds = predict_variant_effects(variants, lm, devices="cpu", seq_len=args.seq_len, genome=args.genome,
                                   batch_size=args.batch_size, num_workers=0, compare_func=None, return_ad=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    odds = np.asarray(odds).reshape(len(variants), 2)  # (variant, allele: ref, alt)
    pd.DataFrame({"ref_output": odds[:, 0], "alt_output": odds[:, 1]}).to_csv(Path(args.out), sep="\t", index=False)
    print(json.dumps({"variants": len(variants), "wall_s": wall, "cpu_s": cpu, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
