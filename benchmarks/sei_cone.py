"""Cost of one published-size Sei pass per 4 kb sequence, by stage, and what receptive-field reuse could save.

Full-size ``Sei()`` (889,979,983 parameters, seeded random weights, fp32, CPU), random one-hot
4,096-bp inputs. Measured: the full forward pass (best of ``--repeat``, process CPU seconds and
wall seconds per sequence, at ``--batch``) and the time of each stage (blocks 1-3, the five
dilated convolutions, spline + classifier) as a fraction of the full pass, measured in the same
run. Then, for a single-base change at the centre, the positions each stage would have to
recompute (the change's cone: kernel 9 ``same`` convolutions widen it by 4 per side, max-pool 4
shrinks it, dilated kernel-5 convolutions widen it by 2 x dilation), and the reuse bound: full
pass time / time of the recomputed parts, each stage's measured time scaled by its recomputed
fraction (the cone covers all 256 positions from the fifth dilated convolution on, so everything
after it is full price). Reuse is not implemented (models/cone.py covers cnn_small only); this
says whether it is worth doing. Last line: ``RESULT sei_full_pass_s=<s per sequence, CPU>
reuse_bound=<x>``.

    .venv/bin/python benchmarks/sei_cone.py --batch 2 --repeat 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from regvarbench.models.sei import SEI_INPUT_LENGTH, Sei


def _timed(fn, repeat: int) -> tuple[float, float]:
    """Best (CPU seconds, wall seconds) of ``repeat`` calls."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
    return best


def stage_times(model: Sei, x: torch.Tensor, repeat: int) -> dict[str, float]:
    """CPU seconds of each stage of ``model.tower`` + head on ``x`` (inputs of a stage computed once beforehand)."""
    m = model
    with torch.inference_mode():
        lout1 = m.lconv1(x)
        out1 = m.conv1(lout1)
        lout2 = m.lconv2(out1 + lout1)
        out2 = m.conv2(lout2)
        lout3 = m.lconv3(out2 + lout2)
        out3 = m.conv3(lout3)
        dins = [out3 + lout3]
        out = out3 + m.dconv1(dins[0])
        for i in range(2, 6):
            dins.append(out)
            out = out + getattr(m, f"dconv{i}")(out)
        stages = {"block1": lambda: m.conv1(m.lconv1(x)), "block2": lambda: m.conv2(m.lconv2(out1 + lout1)),
                  "block3": lambda: m.conv3(m.lconv3(out2 + lout2))}
        for i in range(1, 6):
            stages[f"dconv{i}"] = (lambda i=i: getattr(m, f"dconv{i}")(dins[i - 1]))
        stages["head"] = lambda: m.classifier(m.spline_tr(out).flatten(1))
        return {name: _timed(fn, repeat)[0] for name, fn in stages.items()}


def cone_fractions(length: int = SEI_INPUT_LENGTH) -> dict[str, float]:
    """Fraction of each stage's output positions a centred single-base change reaches."""
    half, out = 0, {}
    for block, n in (("block1", length), ("block2", length // 4), ("block3", length // 16)):
        if block != "block1":
            half = half // 4 + 1  # max-pool 4: the cone's half-width in pooled positions, rounded up
        half += 4 * 4  # four kernel-9 convolutions per block (two linear, two ReLU)
        out[block] = min(1.0, (2 * half + 1) / n)
    n = length // 16
    for i, d in enumerate((2, 4, 8, 16, 25), start=1):
        half += 2 * d
        out[f"dconv{i}"] = min(1.0, (2 * half + 1) / n)
    out["head"] = 1.0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = Sei().eval()
    rng = np.random.default_rng(0)
    x = torch.from_numpy(np.eye(4, dtype=np.float32)[rng.integers(0, 4, (args.batch, SEI_INPUT_LENGTH))])
    x = x.transpose(1, 2).contiguous()
    with torch.inference_mode():
        model(x)  # warm-up
        cpu, wall = _timed(lambda: model(x), args.repeat)
    per_seq = cpu / args.batch
    stages = stage_times(model, x, args.repeat)
    total = sum(stages.values())
    cone = cone_fractions()
    recomputed = sum(stages[s] * cone[s] for s in stages)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}")
    print(f"full pass: {per_seq:.2f} CPU s, {wall / args.batch:.2f} wall s per 4 kb sequence")
    print(f"{'stage':8} {'share':>7} {'cone':>7}")
    for name, seconds in stages.items():
        print(f"{name:8} {seconds / total:7.1%} {cone[name]:7.1%}")
    bound = total / recomputed
    print(f"stages sum to {total / cpu:.2f} x the full pass; reuse would recompute {recomputed / total:.1%} of it")
    print(f"RESULT sei_full_pass_s={per_seq:.2f} reuse_bound={bound:.2f}")


if __name__ == "__main__":
    main()
