"""Variant-scoring throughput: ours vs the study's per-dataset loop vs gReLU, for a CNN and a transformer.

Same run, same machine, same weights (random, seeded), same variants, one torch thread:
  (a) ours: ``score_windows`` at ``--precision auto`` (fp32: the accuracy budget's choice): one
      reference pass per distinct window, a receptive-field cone per single-base alt (cnn_small),
      folded batch norm and channels-last convolutions, fixed padded batches;
  (a') ours with ``cone=False`` (dedup only), for reference;
  (b) the study's approach: encode every ref and alt sequence, fp32 forward passes in batches of
      32, no reuse;
  (c) gReLU 1.1.0 ``predict_variant_effects`` on the same network and weights (our CNNSmall inside
      a gReLU LightningModel, benchmarks/grelu_runner.py), run by ``--grelu-python`` (gReLU's own
      venv) on the raQTL-shaped set against a synthetic FASTA made of the same windows.
Variant sets: saturation mutagenesis (``--positions`` positions x 3 alts inside one element, each
variant centred in its own ``--length`` window as `regvarbench windows` makes them) and
raQTL-shaped (``--snvs`` distinct SNVs, each with its own window). The transformer (a small
ESM-style classifier over 6-mer tokens, random weights) has no cone: ours gains from dedup, a numpy
k-mer tokenizer, unpadded length-bucketed batches and a last layer computed at <cls> only
(models/hf.py), against the study's own loop (``study_scores_hf``) on a model of its own.
Then the precision budget: fp64, fp32 and bf16 on a saturation-mutagenesis set, each with its
speed and its Spearman/Pearson/collapsed-to-zero figures against fp64 (``--budget-model`` adds a
trained model's). Then peak RSS of scoring ``--rss-variants`` and 10x as many raQTL-shaped variants in chunks of
``--chunk`` (one subprocess each, VmHWM from /proc).

Times are process CPU seconds (best of ``--repeat``): the development machine's two cores are
shared, and wall time there mostly measures the other jobs; wall-clock ratios are printed beside
them. Last lines: ``RESULT satmut_vs_study=<x> raqtl_vs_study=<y> vs_grelu=<z>`` (CNN, CPU-time
ratios; vs_grelu is nan when (c) is skipped), then ``RESULT_HF satmut_vs_study=<x>
raqtl_vs_study=<y>`` (the transformer; ``--only-hf`` runs that part alone).

    .venv/bin/python benchmarks/score_throughput.py --grelu-python /work/.cache/grelu-venv/bin/python
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from regvarbench.models import cnn, load_model
from regvarbench.models.precision import BUDGET_SPEARMAN, budget_figures, resolve_precision
from regvarbench.score import score_windows, set_precision, variant_score

SPEC = {"model_name": "cnn_small_rand", "architecture": "cnn_small", "seed": 0}
ROOT = Path(__file__).resolve().parents[1]


def satmut_windows(positions: int, length: int, seed: int = 0) -> pd.DataFrame:
    """Every alt base at ``positions`` consecutive positions of one element; variant-centred windows."""
    rng = np.random.default_rng(seed)
    region = "".join(rng.choice(list("ACGT"), length + positions))
    rows = []
    for i in range(positions):
        window = region[i:i + length]  # the variant at index length // 2
        centre = length // 2
        for base in "ACGT":
            if base != window[centre]:
                rows.append((f"sm:{i}:{base}", window, window[:centre] + base + window[centre + 1:]))
    return to_table(rows, "satmut")


def raqtl_windows(n: int, length: int, seed: int = 1) -> pd.DataFrame:
    """``n`` distinct SNVs, each centred in its own window."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length))
    shift = rng.integers(1, 4, size=n)
    rows = []
    for i in range(n):
        ref = "".join(np.array(list("ACGT"))[codes[i]])
        alt_base = "ACGT"[(codes[i, length // 2] + shift[i]) % 4]
        rows.append((f"rq:{seed}:{i}", ref, ref[:length // 2] + alt_base + ref[length // 2 + 1:]))
    return to_table(rows, "raqtl")


def to_table(rows: list[tuple[str, str, str]], dataset: str) -> pd.DataFrame:
    return pd.DataFrame({"variant_id": [r[0] for r in rows], "dataset": dataset, "cell_line": "HepG2",
                         "ref_seq": [r[1] for r in rows], "alt_seq": [r[2] for r in rows], "n_padded": 0})


def study_scores(model: torch.nn.Module, windows: pd.DataFrame, batch_size: int = 32) -> np.ndarray:
    """The study's loop: all ref and alt sequences encoded, fp32 batches of 32, no reuse."""
    net = copy.deepcopy(model).float().eval()
    n = len(windows)
    x = cnn.encode(list(windows["ref_seq"]) + list(windows["alt_seq"])).float()
    out = np.empty(2 * n)
    with torch.inference_mode():
        for i in range(0, 2 * n, batch_size):
            out[i:i + batch_size] = torch.sigmoid(net(x[i:i + batch_size])).numpy()
    return variant_score(out[:n], out[n:])


def study_scores_hf(model, tokenizer, windows: pd.DataFrame, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The study's loop for a transformer (AI4Genomic code/utility_functions.py get_predictions_raw).

    The refs, then the alts, each tokenised in one call (``padding=True, truncation=True,
    max_length=512``) and run in batches of 32 under ``torch.no_grad``, no reuse; ``model`` and
    ``tokenizer`` as ``from_pretrained`` gives them. Returns (scores, logit_1 - logit_0 of the refs
    then the alts), float64.
    """
    logits = []
    for seqs in (list(windows["ref_seq"]), list(windows["alt_seq"])):
        tokens = tokenizer(seqs, return_tensors="pt", padding=True, truncation=True, max_length=512)
        for i in range(0, tokens["input_ids"].size(0), batch_size):
            with torch.no_grad():
                logits.append(model(**{k: v[i:i + batch_size] for k, v in tokens.items()}).logits)
    logits = torch.cat(logits).double()
    diff = (logits[:, 1] - logits[:, 0]).numpy()
    out = cnn.sigmoid(diff)
    return variant_score(out[:len(windows)], out[len(windows):]), diff


def best_time(fn, repeat: int):
    """(CPU seconds, wall seconds, result) of the run that used the least CPU time."""
    best, result = (float("inf"), float("inf")), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
    return best[0], best[1], result


def compare(name: str, windows: pd.DataFrame, adapter, repeat: int, hf: bool = False, study_model=None) -> dict:
    """Time (a), (a') for CNNs, and (b) on one variant set; print variants per CPU second and ratios.

    Every method runs once on a few variants first, so one-off kernel set-up is not timed.
    ``study_model``: (model, tokenizer) of the study's loop for a transformer, loaded apart from
    ``adapter`` with plain ``from_pretrained`` defaults.
    """
    n = len(windows)
    # CNN batches are capped at models/cone.py BLOCK; HFAdapter runs batch_size rows of one token length
    batch = 32 if hf else 256
    study_fn = (lambda w: study_scores_hf(*study_model, w)[0]) if hf else (lambda w: study_scores(adapter.model, w))
    score_windows(adapter, windows.head(8), batch_size=batch)
    study_fn(windows.head(8))
    t_ours, w_ours, ours = best_time(lambda: score_windows(adapter, windows, batch_size=batch), repeat)
    t_study, w_study, study = best_time(lambda: study_fn(windows), repeat)
    print(f"{name}: {n} variants, {windows['ref_seq'].nunique()} distinct reference windows")
    print(f"  (a)  ours{'' if hf else ', cone reuse'} + dedup      {n / t_ours:9.1f} variants/CPU-s  "
          f"({t_ours:.2f} CPU-s, {w_ours:.2f} s wall)")
    ratios = f"a/b = {t_study / t_ours:.2f}"
    if not hf:
        score_windows(adapter, windows.head(8), batch_size=batch, cone=False)
        t_dedup, w_dedup, dedup = best_time(lambda: score_windows(adapter, windows, batch_size=batch, cone=False),
                                            repeat)
        print(f"  (a') ours, no cone (dedup only)    {n / t_dedup:9.1f} variants/CPU-s  "
              f"({t_dedup:.2f} CPU-s, {w_dedup:.2f} s wall)")
        ratios += f", a'/b = {t_study / t_dedup:.2f}, a/a' = {t_dedup / t_ours:.2f}"
        diff_cone = np.abs(ours["score"].to_numpy() - dedup["score"].to_numpy()).max()
    print(f"  (b)  study loop, fp32, batch 32    {n / t_study:9.1f} variants/CPU-s  "
          f"({t_study:.2f} CPU-s, {w_study:.2f} s wall)")
    print(f"  ratios (CPU time): {ratios}; wall-clock a/b = {w_study / w_ours:.2f}")
    print("  max |score diff|: " + ("" if hf else f"cone vs full {diff_cone:.1e}, ")
          + f"ours vs study {np.abs(ours['score'].to_numpy() - study).max():.1e}")
    if hf:  # the same per sequence: logit_1 - logit_0 of every ref and alt, ours against the study's
        _, study_diff = study_scores_hf(*study_model, windows)
        ours_diff = adapter.logit_differences(list(windows["ref_seq"]) + list(windows["alt_seq"]), batch_size=batch)
        print(f"  max |logit_1 - logit_0 diff| ours vs study {np.abs(ours_diff - study_diff).max():.1e} "
              f"(max |logit_1 - logit_0| {np.abs(study_diff).max():.2f})")
    return {"ratio": t_study / t_ours, "ours": t_ours, "ours_wall": w_ours, "study": t_study, "scores": ours}


def grelu_compare(python: str | None, windows: pd.DataFrame, ours: dict, length: int, threads: int) -> float:
    """(c): gReLU's predict_variant_effects on the same network, weights and windows; CPU-time ratio ours/(c)."""
    if not python:
        print("  (c)  gReLU: skipped: no --grelu-python (gReLU needs its own venv: "
              "python -m venv DIR && DIR/bin/pip install grelu==1.1.0 torch==<our torch>)")
        return float("nan")
    if not Path(python).exists():
        print(f"  (c)  gReLU: skipped: --grelu-python {python} not found")
        return float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = {**SPEC, "input_length": length}
        model_dir = cnn.save_model(tmp / "model", load_model(spec).model, spec)
        genome = tmp / "genome.fa"  # the windows end to end: gReLU cuts exactly our windows
        seq = "".join(windows["ref_seq"])
        with open(genome, "w") as fa:
            fa.write(">chrS\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
        (tmp / "genome.fa.fai").write_text(f"chrS\t{len(seq)}\t6\t60\t61\n")
        (tmp / "genome.fa.sizes").write_text(f"chrS\t{len(seq)}\n")
        centre = length // 2
        variants = pd.DataFrame({"chrom": "chrS", "pos": np.arange(len(windows)) * length + centre,
                                 "ref": windows["ref_seq"].str[centre].to_numpy(),
                                 "alt": windows["alt_seq"].str[centre].to_numpy()})
        variants.to_csv(tmp / "variants.tsv", sep="\t", index=False)
        cmd = [python, str(ROOT / "benchmarks" / "grelu_runner.py"), "--model-dir", str(model_dir),
               "--variants", str(tmp / "variants.tsv"), "--genome", str(genome), "--seq-len", str(length),
               "--threads", str(threads), "--src", str(ROOT / "src"), "--out", str(tmp / "grelu.tsv")]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "WANDB_MODE": "disabled"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)  # Lightning writes ./lightning_logs
        if proc.returncode != 0:
            print(f"  (c)  gReLU: failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-3:]}")
            return float("nan")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        out = pd.read_csv(tmp / "grelu.tsv", sep="\t")
    n = len(windows)
    same = max(np.abs(out[c].to_numpy() - ours["scores"][c].to_numpy()).max() for c in ("ref_output", "alt_output"))
    print(f"  (c)  gReLU predict_variant_effects   {n / info['cpu_s']:9.1f} variants/CPU-s  "
          f"({info['cpu_s']:.2f} CPU-s, {info['wall_s']:.2f} s wall; batch 64, torch {info['torch']}; "
          f"max |output diff| vs (a) {same:.1e})")
    ratio = info["cpu_s"] / ours["ours"]
    print(f"  ratios (CPU time): a/c = {ratio:.2f}, b/c = {info['cpu_s'] / ours['study']:.2f}; "
          f"wall-clock a/c = {info['wall_s'] / ours['ours_wall']:.2f}")
    return ratio


def precision_budget(adapter, windows: pd.DataFrame, repeat: int, label: str) -> None:
    """Speed and accuracy budget figures of every precision against fp64, on one satmut set.

    The budget (docs/performance.md): Spearman >= BUDGET_SPEARMAN against fp64 and no score
    collapsing to 0. bf16 is emulated (slow) on CPUs without AVX-512 BF16/AMX; its figures are
    the same kind of rounding everywhere, its speed is only meaningful where it is native.
    """
    print(f"precision budget on {label}: {len(windows)} saturation-mutagenesis variants "
          f"(auto -> {resolve_precision('auto', 'cpu')}; budget Spearman >= {BUDGET_SPEARMAN}, none collapsed to 0)")
    results = {}
    for precision in ("fp64", "fp32", "bf16"):
        adapter.set_precision(precision)
        score_windows(adapter, windows.head(8))
        t, _, table = best_time(lambda: score_windows(adapter, windows), repeat)
        results[precision] = (t, table["score"].to_numpy())
    reference = results["fp64"][1]
    for precision, (t, scores) in results.items():
        f = budget_figures(reference, scores)
        print(f"  {precision:5s} {len(windows) / t:9.1f} variants/CPU-s  spearman={f['spearman']:.6f} "
              f"pearson={f['pearson']:.6f} collapsed_to_zero={f['collapsed_to_zero']} "
              f"max_abs_diff={f['max_abs_diff']:.1e}  {'meets' if f['meets_budget'] else 'MISSES'} the budget")
    adapter.set_precision("auto")


def esm_checkpoint(path: Path, hidden: int = 64, layers: int = 2) -> str:
    """Nucleotide-Transformer-like ESM classifier over non-overlapping 6-mers, random weights, saved locally."""
    from transformers import EsmConfig, EsmForSequenceClassification, EsmTokenizer

    path.mkdir(parents=True)
    kmers = ["".join(p) for p in itertools.product("ACGT", repeat=6)]
    vocab = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", *kmers, "A", "T", "C", "G", "N"]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    config = EsmConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                       intermediate_size=4 * hidden, max_position_embeddings=256, position_embedding_type="rotary",
                       pad_token_id=1, mask_token_id=2, token_dropout=False, num_labels=2)
    torch.manual_seed(0)
    EsmForSequenceClassification(config).save_pretrained(path)
    EsmTokenizer(vocab_file=str(path / "vocab.txt")).save_pretrained(path)
    return str(path)


def rss_child(n: int, chunk: int, length: int) -> None:
    """Score ``n`` raQTL-shaped variants chunk by chunk (as the pipeline's chunk files) and print peak RSS."""
    adapter = load_model({**SPEC, "input_length": length})
    set_precision(adapter, "auto")
    total = 0
    for k, start in enumerate(range(0, n, chunk)):
        windows = raqtl_windows(min(chunk, n - start), length, seed=100 + k)
        total += len(score_windows(adapter, windows, batch_size=256))
    print(f"{total} {peak_rss_kib()}")


def peak_rss_kib() -> int:
    """This process's peak RSS: VmHWM (ru_maxrss of an exec'd child can report its parent's peak)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def transformer_compare(args: argparse.Namespace) -> tuple[float, float]:
    """(a) and (b) for the ESM-style transformer on both variant sets; (satmut, raQTL) CPU-time ratios.

    The study's loop gets its own model and tokenizer, loaded with plain ``from_pretrained``
    defaults from the same checkpoint as the adapter.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if not args.hf_snvs:
        return float("nan"), float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        source = esm_checkpoint(Path(tmp) / "esm")
        hf_adapter = load_model({"family": "hf", "model_name": "esm_small", "input_length": args.length,
                                 "source": source, "max_tokens": 172})
        study_model = (AutoModelForSequenceClassification.from_pretrained(source).eval(),
                       AutoTokenizer.from_pretrained(source))
        n_params = sum(p.numel() for p in hf_adapter.model.parameters())
        fast = hf_adapter.kmer_tokenizer()
        print(f"transformer: ESM-style classifier, {n_params:,} parameters (random), 6-mer tokens "
              f"({type(study_model[1]).__name__}), 172 tokens per window, fp32, attention "
              f"{study_model[0].config._attn_implementation}; ours: "
              f"{'numpy k-mer tokenizer' if fast else 'the tokenizer itself'}, "
              f"{'last layer at <cls> only' if hf_adapter.uses_esm_cls_path() else 'full forward'}, "
              f"length-bucketed unpadded batches; load average {os.getloadavg()[0]:.1f}")
        hf_sat = compare("  saturation mutagenesis", satmut_windows(args.hf_positions, args.length), hf_adapter,
                         args.repeat, hf=True, study_model=study_model)
        hf_rq = compare("  raQTL-shaped", raqtl_windows(args.hf_snvs, args.length), hf_adapter, args.repeat,
                        hf=True, study_model=study_model)
    print(f"transformer ratios (CPU time): satmut_vs_study={hf_sat['ratio']:.2f} raqtl_vs_study={hf_rq['ratio']:.2f}")
    return hf_sat["ratio"], hf_rq["ratio"]


def print_result_hf(ratios: tuple[float, float]) -> None:
    """The transformer's result line (CPU-time ratios ours / study loop)."""
    print(f"RESULT_HF satmut_vs_study={ratios[0]:.2f} raqtl_vs_study={ratios[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=300)
    parser.add_argument("--snvs", type=int, default=2000)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, the same for every method")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--grelu-python", default=None, help="python of gReLU's venv; (c) is skipped without it")
    parser.add_argument("--hf-positions", type=int, default=60, help="saturation set for the transformer")
    parser.add_argument("--hf-snvs", type=int, default=300, help="raQTL-shaped set for the transformer (0 skips it)")
    parser.add_argument("--rss-variants", type=int, default=1000, help="0 skips the memory part")
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--only-hf", action="store_true", help="the transformer part only (prints RESULT_HF alone)")
    parser.add_argument("--budget-model", default=None,
                        help="a trained cnn model directory (e.g. results/demo/models/cnn_small__HepG2) for the "
                             "precision budget figures, beside the random-weight network")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    if args.rss_child is not None:
        rss_child(args.rss_child, args.chunk, args.length)
        return
    if args.only_hf:
        print_result_hf(transformer_compare(args))
        return
    adapter = load_model({**SPEC, "input_length": args.length})
    precision = set_precision(adapter, "auto")
    print(f"cnn_small (random weights, seed 0), {args.length} bp windows, torch {torch.__version__}, "
          f"{args.threads} thread(s), precision auto -> {precision}, load average {os.getloadavg()[0]:.1f}")
    satmut = compare("saturation mutagenesis", satmut_windows(args.positions, args.length), adapter, args.repeat)
    raqtl_set = raqtl_windows(args.snvs, args.length)
    raqtl = compare("raQTL-shaped", raqtl_set, adapter, args.repeat)
    vs_grelu = grelu_compare(args.grelu_python, raqtl_set, raqtl, args.length, args.threads)
    if args.budget_model:  # a trained model: its outputs vary as real ones do
        trained = load_model(args.budget_model)
        length = int(trained.spec.get("input_length") or args.length)
        precision_budget(trained, satmut_windows(args.positions, length), args.repeat, f"trained {args.budget_model}")
    precision_budget(adapter, satmut_windows(args.positions, args.length), args.repeat, "random weights (seed 0)")
    hf_ratios = transformer_compare(args)
    if args.rss_variants:
        for n in (0, args.rss_variants, 10 * args.rss_variants):  # 0: imports + model only
            out = subprocess.run([sys.executable, __file__, "--rss-child", str(n), "--chunk", str(args.chunk),
                                  "--length", str(args.length), "--threads", str(args.threads)],
                                 check=True, capture_output=True, text=True).stdout.split()
            print(f"peak RSS scoring {int(out[0])} raQTL-shaped variants in chunks of {args.chunk}: "
                  f"{int(out[1]) / 1024:.0f} MiB")
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"RESULT satmut_vs_study={satmut['ratio']:.2f} raqtl_vs_study={raqtl['ratio']:.2f} vs_grelu={vs_grelu:.2f}")
    print_result_hf(hf_ratios)


if __name__ == "__main__":
    main()
