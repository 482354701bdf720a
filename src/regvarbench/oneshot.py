"""oneshot: a trainable model scored without training it, for the fine-tuned vs one-shot comparison.

The network keeps the weights it has before any training (a Hugging Face checkpoint's pretrained
weights; a CNN's seeded initial weights), and a linear probe on its features (models/probe.py),
fitted on the cell line's training split, turns them into an enhancer probability. Writes
``DIR/<model>_oneshot__<cell>/`` with spec.json (the probe inside, ``oneshot_of`` naming the
fine-tuned model) and enhancer_detection.tsv, the same layout TRAIN writes, so SCORE and
EVALUATE take it unchanged; EVALUATE pairs ``<model>_oneshot`` with ``<model>``.

``--catalogue CSV --model-name NAME`` (the pipeline's ONESHOT task) lets the model's catalogue row
choose the family and its options (``CATALOGUE_OPTIONS``), as for ``train --catalogue``.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd
import torch

from . import __version__
from .artifacts import check_model_name, model_dir, write_spec
from .catalogue import DEFAULT_MAX_TOKENS, ROW_OPTIONS, command_options, option_flags
from .contracts import DETECTION_FILE, ONESHOT_SUFFIX, SPLITS, validate_split_table
from .detection import detection_table, sigmoid
from .io import InputError, json_object_option, read_tsv, write_tsv
from .models import cnn, load_model
from .models.probe import features, fit_probe, probe_logits
from .models.unavailable import run_skipping_unavailable

log = logging.getLogger(__name__)

SUFFIX = ONESHOT_SUFFIX
FAMILIES = ("cnn", "hf")
# options a catalogue row decides (oneshot --catalogue; catalogue.command_options); the rest stay options
CATALOGUE_OPTIONS = ROW_OPTIONS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="split table of one cell line (split.tsv from split)")
    parser.add_argument("--model-name", required=True, help="catalogue name; the one-shot model is <name>_oneshot")
    parser.add_argument("--family", choices=FAMILIES, default="cnn")
    parser.add_argument("--architecture", default="cnn_small", help="cnn: architecture name")
    parser.add_argument("--hyperparameters", metavar="JSON", default=None,
                        help="cnn: architecture hyper-parameters overriding its defaults, as a JSON object "
                             "(as for train; docs/models.md lists them)")
    parser.add_argument("--source", help="hf: checkpoint directory or hub id")
    parser.add_argument("--tokenizer", help="hf: tokenizer directory or hub id (default: the --source's)")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                        help=f"hf: tokens per sequence (default {DEFAULT_MAX_TOKENS})")
    parser.add_argument("--trust-remote-code", action="store_true", help="hf: the checkpoint ships its own code")
    parser.add_argument("--revision", default=None,
                        help="hf: hub revision of --source; a commit hash pins its code and weights")
    parser.add_argument("--seed", type=int, default=0, help="seed of the CNN's initial weights, a seeded head "
                                                           "and the probe (default 0)")
    parser.add_argument("--max-train", type=int, default=4000,
                        help="at most this many training sequences (a seeded, label-stratified sample) fit "
                             "the probe (default 4000)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--skip-unavailable", action="store_true",
                        help="a checkpoint that cannot be loaded leaves a marker model directory "
                             "(models/unavailable.py) instead of failing")
    parser.add_argument("--catalogue", metavar="CSV",
                        help="model catalogue (assets/models.csv): the row of --model-name, a cnn or hf row, "
                        f"decides {option_flags(CATALOGUE_OPTIONS)} (not to be given with it)")
    parser.add_argument("--outdir", required=True)


def run(args: argparse.Namespace) -> None:
    args = apply_catalogue(args)
    run_skipping_unavailable(lambda: _run(args), args.skip_unavailable, args.outdir, args.model_name + SUFFIX,
                             args.family, data=args.data)


def apply_catalogue(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the options of ``--catalogue``'s row for ``--model-name`` filled in (a copy).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``oneshot`` options; without ``catalogue`` they are returned as given.

    Returns
    -------
    argparse.Namespace
        ``CATALOGUE_OPTIONS`` from the row (``catalogue.command_options``).

    Raises
    ------
    InputError
        For an option of ``CATALOGUE_OPTIONS`` given as well, a catalogue without the row, or a row
        of a family other than cnn and hf.
    """
    if not getattr(args, "catalogue", None):
        return args
    probe = argparse.ArgumentParser()
    add_arguments(probe)
    settings, options = command_options(args.catalogue, args.model_name, vars(args),
                                        {o: probe.get_default(o) for o in CATALOGUE_OPTIONS}, data=args.data)
    if settings["family"] not in FAMILIES:
        raise InputError(f"{args.catalogue}: model {args.model_name} is of family {settings['family']!r}; "
                         f"one-shot probes {' and '.join(FAMILIES)} rows only")
    return argparse.Namespace(**{**vars(args), **options})


def _run(args: argparse.Namespace) -> None:
    if args.threads is not None:
        if args.threads < 1:
            raise InputError("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    check_model_name(args.model_name)
    if args.max_train < 2 or args.batch_size < 1:
        raise InputError("--max-train must be at least 2 and --batch-size at least 1")
    if args.family == "hf" and not args.source:
        raise InputError("--family hf needs --source (a checkpoint directory or hub id)")
    table = validate_split_table(read_tsv(args.data), str(args.data))
    cell_line = str(table["cell_line"].iloc[0])
    name = args.model_name + SUFFIX
    spec = {"model_name": name, "family": args.family, "cell_line": cell_line, "seed": args.seed,
            "oneshot_of": args.model_name, "input_length": int(len(table["sequence"].iloc[0])),
            "regvarbench_version": __version__}
    if args.family == "hf":
        spec.update(source=args.source, max_tokens=args.max_tokens, trust_remote_code=args.trust_remote_code,
                    revision=args.revision or None)
        if getattr(args, "tokenizer", None):
            spec["tokenizer"] = args.tokenizer
    else:
        spec.update(architecture=args.architecture, hyperparameters=cnn.resolve_hyperparameters(
            args.architecture, json_object_option(getattr(args, "hyperparameters", None), "--hyperparameters")))
    base = load_model(spec)  # pretrained (hf) or seeded initial (cnn) weights; nothing is trained
    if "resolved_revision" in base.spec:  # hf: the hub commit the weights came from (None: a directory)
        spec["resolved_revision"] = base.spec["resolved_revision"]

    train = _sample(table[table["split"] == "train"], args.max_train, args.seed)
    log.info("%s on %s: probe on %d training sequences", name, cell_line, len(train))
    x_train = features(base, train["sequence"].tolist(), args.batch_size)
    probe = fit_probe(x_train, train["label"].to_numpy(), args.seed)
    probe["n_train"] = len(train)
    spec["probe"] = probe

    parts = {s: table[table["split"] == s] for s in SPLITS[1:]}
    parts = {s: p for s, p in parts.items() if len(p)}
    probs = {s: sigmoid(probe_logits(probe, features(base, p["sequence"].tolist(), args.batch_size)))
             for s, p in parts.items()}
    detection = detection_table(name, cell_line, {s: p["label"].to_numpy() for s, p in parts.items()}, probs)
    target = model_dir(args.outdir, name, cell_line)
    target.mkdir(parents=True, exist_ok=True)
    write_spec(target, spec)
    write_tsv(detection, target / DETECTION_FILE)
    log.info("wrote %s", target)


def _sample(part: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """At most ``n`` rows, each label drawn in proportion with a fixed seed, in table order."""
    if len(part) <= n:
        return part
    rng = np.random.default_rng(seed)
    keep = []
    for _, group in part.groupby("label", sort=True):
        k = max(1, round(n * len(group) / len(part)))
        keep.extend(rng.choice(group.index.to_numpy(), size=min(k, len(group)), replace=False))
    return part.loc[sorted(keep)]
