"""Command-line entry point: one subcommand per pipeline step.

Each subcommand lives in the module of the same name and exposes two functions,
``add_arguments(parser)`` and ``run(args)``. Modules are imported only when their subcommand
runs, so ``regvarbench --help`` stays fast (torch is not imported for table-only steps).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .errors import InputError
from .runtime import PAUSED_EXIT, TrainingPaused

# subcommand -> (module, one-line help); names mirror the Nextflow processes.
COMMANDS = {
    "simulate": ("regvarbench.simulate", "write the synthetic benchmark (genome, peaks, variants, truth)"),
    "build-regions": ("regvarbench.regions", "enhancer (positive) and control regions from peak files"),
    "extract-sequences": ("regvarbench.sequences", "fetch region sequences from the genome, drop those with N"),
    "split": ("regvarbench.split", "train/validation/test split on held-out chromosomes"),
    "train": ("regvarbench.train", "train or fine-tune a model on one cell line's training set"),
    "prepare-variants": ("regvarbench.variants.prepare", "parse a variant dataset into the standard table"),
    "rebuild-elements": ("regvarbench.elements", "reference sequences of saturation-mutagenesis elements"),
    "make-windows": ("regvarbench.windows", "reference/alternative sequence windows centred on variants"),
    "oneshot": ("regvarbench.oneshot", "a trainable model without training: its untrained network + a linear probe"),
    "score": ("regvarbench.score", "score variant windows with a model"),
    "import-predictions": ("regvarbench.predictions", "external per-variant predictions into score tables"),
    "evaluate": ("regvarbench.evaluate", "metrics tables from variants and scores"),
    "rank": ("regvarbench.rank", "rank each locus' variants by every model; ranked table, top candidates, VCF"),
    "report": ("regvarbench.report", "self-contained HTML report with figures"),
    "predict": ("regvarbench.predict", "your own variants (a VCF) prepared, scored by trained models and ranked, in one go"),
    "versions": ("regvarbench.versions", "versions.yml block for a pipeline task"),
    "stub": ("regvarbench.stub", "a step's outputs, header-only, and versions.yml: the modules' stub blocks"),
}


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand: parse its options, run it, and turn an InputError into a message.

    Parameters
    ----------
    argv : list of str or None
        The command line without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        Exit status: 0 on success, 2 after an InputError, ``PAUSED_EXIT`` when training paused.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    # Parse in two steps: find the subcommand, then let its module define the options.
    parser = argparse.ArgumentParser(prog="regvarbench", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="commands:\n" + "\n".join(f"  {k:<18} {v[1]}" for k, v in COMMANDS.items()))
    parser.add_argument("--version", action="version", version=f"regvarbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND")
    head, rest = parser.parse_known_args(argv[: _command_index(argv) + 1] if _command_index(argv) >= 0 else argv)
    module = importlib.import_module(COMMANDS[head.command][0])
    sub = argparse.ArgumentParser(prog=f"regvarbench {head.command}", description=COMMANDS[head.command][1])
    module.add_arguments(sub)
    args = sub.parse_args(argv[_command_index(argv) + 1:])
    logging.basicConfig(level=logging.DEBUG if head.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        module.run(args)
    except InputError as exc:
        print(f"regvarbench {head.command}: error: {exc}", file=sys.stderr)
        return 2
    except TrainingPaused as exc:
        print(f"regvarbench {head.command}: paused: {exc}", file=sys.stderr)
        return PAUSED_EXIT
    return 0


def _command_index(argv: list[str]) -> int:
    """Index of the first argument naming a subcommand, or -1."""
    for i, a in enumerate(argv):
        if a in COMMANDS:
            return i
    return -1


if __name__ == "__main__":
    sys.exit(main())
