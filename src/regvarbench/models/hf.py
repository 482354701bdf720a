"""Hugging Face sequence classifiers: fine-tune and score any AutoModelForSequenceClassification.

One adapter serves every checkpoint of the study's language models (DNABERT-2, Nucleotide
Transformer, GENA-LM, HyenaDNA, Geneformer, ...): each brings its own tokenizer, and the enhancer
probability is sigmoid(logit_enhancer - logit_control) of a 2-class head. A trained model directory
holds ``spec.json`` and ``checkpoint/`` (``save_pretrained`` of the best model and its tokenizer)
beside the same ``training_curve.tsv`` and ``enhancer_detection.tsv`` as a CNN, so ``regvarbench
score`` loads either.

Inputs longer than ``max_tokens`` are cropped around their centre (not cut at the right end):
variant windows put the variant at the centre, and a right truncation of a character-level
tokenization (HyenaDNA) would drop everything past base ~510 of a 1 kb window.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, EarlyStoppingCallback,
                          EsmForSequenceClassification, PretrainedConfig, Trainer, TrainerCallback,
                          TrainingArguments)
from transformers.models.auto.configuration_auto import CONFIG_MAPPING
from transformers.models.esm.modeling_esm import (EsmAttention, EsmClassificationHead, EsmIntermediate, EsmLayer,
                                                  EsmOutput, EsmSelfAttention)
from transformers.trainer_callback import PrinterCallback

from .. import __version__
from ..artifacts import check_model_name, model_dir, training_fingerprint, write_spec
from ..catalogue import DEFAULT_MAX_TOKENS
from ..contracts import DETECTION_FILE, SPLITS, validate_split_table
from ..detection import detection_metrics, detection_table, log_detection, sigmoid
from ..dna import fit_length
from ..io import InputError, write_text_atomic, write_tsv
from ..runtime import TrainingPaused, deterministic_algorithms, make_runtime, seed_everything
from .base import Adapter
from .unavailable import ModelUnavailableError, first_line

log = logging.getLogger(__name__)

FAMILY = "hf"
CHECKPOINT_DIR = "checkpoint"
# Scoring batches of tokenizers whose token count varies with the sequence (BPE: DNABERT-2,
# GENA-LM): token lengths rounded up to a multiple of this, padded and masked, so a handful of
# lengths share batches instead of one part-filled batch per exact length ...
LENGTH_STEP = 8
# ... and at most this many rows per forward pass, so that the filler rows that keep every pass
# the same shape (one part-filled batch per length) stay few
VARIABLE_LENGTH_ROWS = 32
# Errors transformers / huggingface_hub raise for a checkpoint that cannot be had: not on disk and
# not fetchable (OSError), a malformed id (HFValidationError is a ValueError), remote code
# needing a missing package (ImportError), a config without a classifier mapping (KeyError).
_LOAD_ERRORS = (OSError, ValueError, ImportError, KeyError)


@dataclass(frozen=True)
class HFTrainConfig:
    """Fine-tuning settings; the defaults are the study's (batch 8, lr 1e-5, <= 200 epochs, patience 5)."""

    model_name: str
    source: str
    tokenizer: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    trust_remote_code: bool = False
    revision: str | None = None  # hub revision of source (a commit hash pins code and weights)
    epochs: int = 200
    patience: int = 5
    batch_size: int = 8
    lr: float = 1e-5
    weight_decay: float = 0.0
    logging_steps: int = 500
    seed: int = 0


class RemoteCodeRefusedError(InputError):
    """A checkpoint whose classes exist only in the code it ships, asked for without trust_remote_code."""


def checkpoint_config(source: str, revision: str | None = None, model_name: str | None = None) -> dict[str, Any]:
    """The raw ``config.json`` of a checkpoint directory or hub id, read without running any of its code.

    Parameters
    ----------
    source : str
        Checkpoint directory or Hugging Face hub id.
    revision : str, optional
        Hub revision (commit hash, branch or tag); ignored for a directory.
    model_name : str, optional
        Name used in error messages (default: the source).

    Returns
    -------
    dict
        The configuration as stored, ``auto_map`` included.
    """
    try:
        config, _ = PretrainedConfig.get_config_dict(source, revision=revision)
    except _LOAD_ERRORS as exc:
        raise ModelUnavailableError(model_name or source, source, f"no config: {first_line(exc)}") from exc
    return config


def check_remote_code(config: dict[str, Any], source: str, trust_remote_code: bool, model_name: str) -> None:
    """Refuse a checkpoint that needs its own modelling code unless remote code was asked for.

    A config with an ``auto_map`` and a ``model_type`` transformers does not know can only be run by
    the code it ships (hub code, executed on load); one whose ``model_type`` transformers knows is
    loaded with transformers' own classes when remote code is not trusted (a warning says so).

    Parameters
    ----------
    config : dict
        The checkpoint's raw config (:func:`checkpoint_config`).
    source : str
        Checkpoint directory or hub id (for the message).
    trust_remote_code : bool
        Whether the user allowed the checkpoint's code to run.
    model_name : str
        Name used in the message.
    """
    auto_map = config.get("auto_map")
    if not auto_map or trust_remote_code:
        return
    if config.get("model_type") in CONFIG_MAPPING:
        log.warning("model %s: %s ships its own modelling code (auto_map); it is not run: transformers' own %r "
                    "classes load the checkpoint (trust remote code to run the shipped code)", model_name, source,
                    config.get("model_type"))
        return
    raise RemoteCodeRefusedError(
        f"model {model_name}: {source!r} runs only with the modelling code it ships ({', '.join(sorted(auto_map))} "
        f"in its config.json auto_map), which regvarbench executes only when asked: regvarbench train/oneshot "
        f"--trust-remote-code; in the pipeline, a row of the pipeline's own catalogue with trust_remote_code true, or "
        f"--trust_remote_code for rows of another catalogue. Pin the code with a revision (a commit hash).")


def load_pretrained(source: str, tokenizer_source: str | None = None, trust_remote_code: bool = False,
                    model_name: str | None = None, revision: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) for a local checkpoint directory or a hub id; a 2-label head if it has none.

    Any failure to get the weights or the tokenizer (offline, unknown id, missing files) is a
    ModelUnavailableError (an InputError) naming the model and the source; a checkpoint that
    needs its own code without ``trust_remote_code`` is a RemoteCodeRefusedError.

    Parameters
    ----------
    source : str
        Checkpoint directory or Hugging Face hub id.
    tokenizer_source : str, optional
        Tokenizer directory or hub id (default: ``source``; loaded at the default revision when it
        differs from ``source``).
    trust_remote_code : bool
        Run the modelling code the checkpoint ships.
    model_name : str, optional
        Name used in messages.
    revision : str, optional
        Hub revision of ``source``: a commit hash pins its code and weights (a branch or tag does not);
        ignored for a directory. The revision actually loaded is ``model.config._commit_hash``
        (:func:`resolved_revision`).

    Returns
    -------
    tuple
        (model in eval mode as loaded, tokenizer).
    """
    label = model_name or source
    revision = revision or None
    check_remote_code(checkpoint_config(source, revision, label), source, trust_remote_code, label)
    tokenizer_revision = revision if tokenizer_source in (None, source) else None
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source or source, trust_remote_code=trust_remote_code,
                                                  revision=tokenizer_revision)
    except _LOAD_ERRORS as exc:
        raise ModelUnavailableError(label, tokenizer_source or source,
                                    f"no tokenizer: {first_line(exc)}") from exc
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=2, trust_remote_code=trust_remote_code, revision=revision)
    except _LOAD_ERRORS as exc:
        raise ModelUnavailableError(label, source, f"no weights: {first_line(exc)}") from exc
    if tokenizer.pad_token is None:
        raise InputError(f"model {label}: the tokenizer of {tokenizer_source or source!r} has no padding token")
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def resolved_revision(model: Any) -> str | None:
    """The hub commit hash a loaded model came from; None for a local directory.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A model returned by :func:`load_pretrained`.

    Returns
    -------
    str or None
        40-hex commit hash, as transformers recorded it while resolving the files.
    """
    return getattr(model.config, "_commit_hash", None) or None


def crop_to_tokens(seqs: list[str], tokenizer: Any, max_tokens: int,
                   count: Callable[[list[str]], list[int]] | None = None) -> list[str]:
    """Centre-crop each sequence until its tokenization (special tokens included) fits max_tokens.

    The centre base (index len // 2, where variant windows put the variant) stays at the centre.

    Parameters
    ----------
    seqs : list[str]
        Sequences to fit.
    tokenizer : PreTrainedTokenizerBase
        The model's tokenizer (its special tokens set the budget).
    max_tokens : int
        Token budget, special tokens included.
    count : callable, optional
        Token counts without special tokens of a list of sequences, equal to the tokenizer's
        (``HFAdapter`` passes its k-mer tokenizer's); default: tokenise with ``tokenizer``.

    Returns
    -------
    list[str]
        The sequences, each cropped around its centre where it was over budget.
    """
    budget = max_tokens - tokenizer.num_special_tokens_to_add(pair=False)
    if budget < 1:
        raise InputError(f"max_tokens {max_tokens} leaves no room besides the special tokens")
    out = list(seqs)
    todo = list(range(len(out)))
    while todo:
        batch = [out[i] for i in todo]
        counts = (count(batch) if count is not None
                  else [len(ids) for ids in tokenizer(batch, add_special_tokens=False)["input_ids"]])
        longer = []
        for i, n in zip(todo, counts):
            if n > budget:
                length = len(out[i])
                keep = min(length - 1, max(1, math.floor(length * budget / n)))
                out[i] = fit_length(out[i], keep)
                longer.append(i)
        todo = longer
    return out


def _dna_codes() -> np.ndarray:
    """Byte -> code table: A, C, G, T -> 0..3, N -> 4, every other byte -> 5."""
    table = np.full(256, 5, dtype=np.int64)
    for code, base in enumerate("ACGTN"):
        table[ord(base)] = code
    return table


_DNA_CODES = _dna_codes()


class KmerTokenizer:
    """The input_ids of a non-overlapping k-mer tokenizer, computed with numpy, equal to its own.

    Applies to vocabularies like the Nucleotide Transformer's: every k-mer over ACGT, the single
    bases A, C, G, T and N, and special tokens made of other characters. Such a tokenizer
    (EsmTokenizer: longest match first, left to right) cuts each run of ACGT into k-mers from the
    run's start and its last ``len % k`` bases into single bases; an N is a token of its own and
    restarts the frame. ``for_tokenizer`` builds one only for such a vocabulary and only if it
    gives the tokenizer's own ids on a set of probe sequences; sequences with any character other
    than A, C, G, T, N (uppercase) are left to the tokenizer (``ids`` gives None for them).
    """

    def __init__(self, k: int, kmer_ids: np.ndarray, base_ids: np.ndarray, prefix: list[int], suffix: list[int],
                 keys: tuple[str, ...] = ("input_ids", "attention_mask")) -> None:
        """
        Parameters
        ----------
        k : int
            k-mer length.
        kmer_ids : np.ndarray
            int64, shape (4**k,): token id of each k-mer, indexed by its base-4 number (A=0, C=1,
            G=2, T=3, first base most significant).
        base_ids : np.ndarray
            int64, shape (5,): token ids of A, C, G, T, N.
        prefix, suffix : list[int]
            Special token ids before and after a sequence's tokens.
        keys : tuple[str, ...]
            The tokenizer's output keys ("input_ids" and possibly "attention_mask").
        """
        self.k = k
        self.kmer_ids = np.asarray(kmer_ids, dtype=np.int64)
        self.base_ids = np.asarray(base_ids, dtype=np.int64)
        self.prefix = np.asarray(prefix, dtype=np.int64)
        self.suffix = np.asarray(suffix, dtype=np.int64)
        self.keys = keys
        self._powers = 4 ** np.arange(k - 1, -1, -1, dtype=np.int64)

    @classmethod
    def for_tokenizer(cls, tokenizer: Any) -> KmerTokenizer | None:
        """A KmerTokenizer giving ``tokenizer``'s ids, or None where its vocabulary or output differs.

        Parameters
        ----------
        tokenizer : PreTrainedTokenizerBase
            The model's tokenizer.

        Returns
        -------
        KmerTokenizer or None
            None unless the vocabulary is k-mers plus single bases and every probe sequence
            (``_probe_sequences``) gets the tokenizer's input_ids, with and without special tokens.
        """
        try:
            vocab = tokenizer.get_vocab()
        except (AttributeError, NotImplementedError):
            return None
        dna = {token for token in vocab if token and set(token) <= set("ACGTN")}
        if not set("ACGTN") <= dna:
            return None
        longer = dna - set("ACGTN")
        sizes = {len(token) for token in longer}
        if len(sizes) > 1:
            return None
        k = sizes.pop() if sizes else 1
        kmers = ["".join(p) for p in itertools.product("ACGT", repeat=k)]
        if k > 1 and longer != set(kmers):  # also: no multi-base token holds an N
            return None
        probe = "ACGT" * 3
        try:
            whole = tokenizer(probe)
            core = tokenizer(probe, add_special_tokens=False)["input_ids"]
        except Exception:  # a tokenizer that cannot tokenise this probe is left to itself
            return None
        keys = tuple(whole.keys())
        full = list(whole["input_ids"])
        if not set(keys) <= {"input_ids", "attention_mask"} or not core:
            return None
        at = next((i for i in range(len(full) - len(core) + 1) if full[i:i + len(core)] == list(core)), None)
        if at is None:
            return None
        prefix, suffix = full[:at], full[at + len(core):]
        if len(prefix) + len(suffix) != tokenizer.num_special_tokens_to_add(pair=False):
            return None
        fast = cls(k, np.array([vocab[t] for t in kmers]), np.array([vocab[b] for b in "ACGTN"]), prefix, suffix,
                   keys)
        probes = _probe_sequences(k)
        want = tokenizer(probes)
        bare = tokenizer(probes, add_special_tokens=False)["input_ids"]
        got = fast.ids(probes)
        if any(g is None or g.tolist() != list(w) for g, w in zip(got, want["input_ids"])):
            return None
        if any(fast.core(p).tolist() != list(b) for p, b in zip(probes, bare)):
            return None
        if "attention_mask" in keys and any(set(m) != {1} for m in want["attention_mask"]):
            return None
        return fast

    def core(self, seq: str) -> np.ndarray | None:
        """Token ids of one sequence without special tokens, int64, shape (n_tokens,); None if it
        holds a character other than A, C, G, T, N.

        Parameters
        ----------
        seq : str
            One DNA sequence (upper-case A, C, G, T, N; anything else gives None).

        Returns
        -------
        numpy.ndarray of int64, shape (n_tokens,), or None
        """
        try:
            codes = _DNA_CODES[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]
        except UnicodeEncodeError:
            return None
        n, k = len(codes), self.k
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        if codes.max() > 4:
            return None
        if k == 1:
            return self.base_ids[codes]
        is_n = codes == 4
        pos = np.arange(n)
        run_start = np.maximum.accumulate(np.where(is_n, pos + 1, 0))  # first base of the ACGT run
        run_end = np.minimum.accumulate(np.where(is_n, pos, n)[::-1])[::-1]  # next N (or the end)
        offset = (pos - run_start) % k
        whole = run_end - (pos - offset) >= k  # inside a complete k-mer of its run
        emit = is_n | ~whole | (offset == 0)
        ids = self.base_ids[codes]
        if n >= k:
            starts = np.flatnonzero(~is_n & whole & (offset == 0))
            windows = np.lib.stride_tricks.sliding_window_view(np.minimum(codes, 3), k)
            ids[starts] = self.kmer_ids[windows[starts] @ self._powers]
        return ids[emit]

    def ids(self, seqs: list[str]) -> list[np.ndarray | None]:
        """input_ids (special tokens included) per sequence, int64 arrays; None where ``core`` is None.

        Sequences of A, C, G, T only are tokenised together, one array operation per length;
        the others one by one (``core``).

        Parameters
        ----------
        seqs : list of str
            DNA sequences.

        Returns
        -------
        list of (numpy.ndarray of int64, shape (n_tokens_i,), or None)
            One entry per sequence, in order.
        """
        out: list[np.ndarray | None] = [None] * len(seqs)
        plain: dict[int, list[int]] = {}
        for i, seq in enumerate(seqs):
            if seq.isascii() and not seq.encode("ascii").translate(None, b"ACGT"):
                plain.setdefault(len(seq), []).append(i)
            else:
                core = self.core(seq)
                out[i] = None if core is None else np.concatenate([self.prefix, core, self.suffix])
        for n, group in plain.items():
            codes = _DNA_CODES[np.frombuffer("".join(seqs[i] for i in group).encode("ascii"), dtype=np.uint8)]
            codes = codes.reshape(len(group), n)
            whole = n // self.k * self.k
            kmers = self.kmer_ids[codes[:, :whole].reshape(len(group), -1, self.k) @ self._powers]
            rows = np.concatenate([np.broadcast_to(self.prefix, (len(group), len(self.prefix))), kmers,
                                   self.base_ids[codes[:, whole:]],
                                   np.broadcast_to(self.suffix, (len(group), len(self.suffix)))], axis=1)
            for i, row in zip(group, rows):
                out[i] = row
        return out


def _probe_sequences(k: int, seed: int = 0) -> list[str]:
    """Fixed sequences that tell a k-mer tokenizer's framing apart: every length up to 3k + 2,
    runs cut by single and repeated Ns, Ns at the ends, and a long random one."""
    rng = np.random.default_rng(seed)
    bases = np.array(list("ACGT"))
    out = ["".join(rng.choice(bases, n)) for n in range(3 * k + 3)]
    out += ["".join(rng.choice(np.array(list("ACGTN")), n, p=[0.2, 0.2, 0.2, 0.2, 0.2])) for n in range(1, 4 * k + 4)]
    out += ["N", "NN", "N" * (k + 1), "A" * (k - 1) + "N" + "C" * (k + 1), "N" + "G" * (2 * k + 1) + "N",
            "".join(rng.choice(bases, 500)) + "N" * 3 + "".join(rng.choice(bases, 7 * k + 1))]
    return out


def esm_cls_logits(model: Any, input_ids: torch.Tensor) -> torch.Tensor:
    """Logits of an ``EsmForSequenceClassification`` on unpadded token ids, the last layer at <cls> only.

    The classification head reads the first token's final hidden state. The last layer's keys and
    values need every position, but its query, attention output and feed-forward block only the
    first one, so they are computed for it alone. Everything else runs through the model's own
    modules, except that the feed-forward GELU is torch's fused erf GELU (the same function as
    ESM's ``x * 0.5 * (1 + erf(x / sqrt 2))``, in one pass instead of four). Agrees with
    ``model(input_ids).logits`` to fp32 rounding (``_esm_cls_path`` checks it before it is used).

    Parameters
    ----------
    model : EsmForSequenceClassification
        In eval mode.
    input_ids : torch.Tensor
        int64, shape (rows, length), no padding tokens (no attention mask is needed).

    Returns
    -------
    torch.Tensor
        Logits, shape (rows, num_labels), the model's dtype.
    """
    esm = model.esm
    hidden = esm.embeddings(input_ids=input_ids)
    *first, last = esm.encoder.layer
    for layer in first:
        hidden = _esm_feed_forward(layer, layer.attention(hidden))  # no mask: every position is a token
    attention, self_attention = last.attention, last.attention.self
    normed = attention.LayerNorm(hidden)
    rows, length = hidden.shape[:2]
    size = self_attention.attention_head_size
    query = self_attention.query(normed[:, :1]).view(rows, 1, -1, size).transpose(1, 2) * size ** -0.5
    key = self_attention.key(normed).view(rows, length, -1, size).transpose(1, 2)
    value = self_attention.value(normed).view(rows, length, -1, size).transpose(1, 2)
    if self_attention.rotary_embeddings is not None:
        query, key = self_attention.rotary_embeddings(query, key)  # the query keeps position 0's rotation
    context = torch.nn.functional.scaled_dot_product_attention(query, key, value, scale=1.0)
    out = _esm_feed_forward(last, attention.output(context.transpose(1, 2).reshape(rows, 1, -1), hidden[:, :1]))
    if esm.encoder.emb_layer_norm_after is not None:
        out = esm.encoder.emb_layer_norm_after(out)
    return model.classifier(out)


def _esm_feed_forward(layer: Any, hidden: torch.Tensor) -> torch.Tensor:
    """An EsmLayer's feed-forward block (pre-LayerNorm, dense, GELU, dense, residual) on ``hidden``."""
    inner = torch.nn.functional.gelu(layer.intermediate.dense(layer.LayerNorm(hidden)))
    return layer.output(inner, hidden)


def _esm_cls_path(model: Any) -> bool:
    """Whether ``esm_cls_logits`` applies to ``model``: a plain transformers ESM classifier (no
    remote code, no decoder, absolute or rotary positions) on which it gives the model's own logits
    for a fixed random probe batch (atol 1e-5 + rtol 1e-4)."""
    config = model.config
    if (type(model) is not EsmForSequenceClassification or type(model.classifier) is not EsmClassificationHead
            or config.is_decoder or getattr(config, "add_cross_attention", False)
            or getattr(config, "position_embedding_type", "absolute") not in ("absolute", "rotary")
            or not len(model.esm.encoder.layer)
            or any((type(layer), type(layer.attention), type(layer.attention.self), type(layer.intermediate),
                    type(layer.output)) != (EsmLayer, EsmAttention, EsmSelfAttention, EsmIntermediate, EsmOutput)
                   for layer in model.esm.encoder.layer)):
        return False
    pad = config.pad_token_id if config.pad_token_id is not None else -1
    length = max(2, min(24, config.max_position_embeddings - max(pad, 0) - 2))
    ids = np.random.default_rng(0).integers(0, config.vocab_size, size=(2, length))
    ids[ids == pad] = (pad + 1) % config.vocab_size
    probe = torch.as_tensor(ids, dtype=torch.long, device=next(model.parameters()).device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            want = model(input_ids=probe).logits.double()
            got = esm_cls_logits(model, probe).double()
    finally:
        model.train(was_training)
    return got.shape == want.shape and bool(torch.allclose(got, want, rtol=1e-4, atol=1e-5))


class HFAdapter(Adapter):
    """Enhancer probability = sigmoid(logit_1 - logit_0) of a 2-class sequence classifier.

    Scoring groups the sequences by token count: each forward pass holds ``batch_size`` rows of one
    length (the last batch of a length filled with copies of its first row). Where the tokenizer
    gives every window the same count (k-mer and character tokenizers) no batch holds a padding
    token and none needs an attention mask; where counts vary (BPE) lengths are rounded up to a
    multiple of ``LENGTH_STEP``, padded and masked by the tokenizer, at most
    ``VARIABLE_LENGTH_ROWS`` rows per pass. Either way a sequence's output depends only on its own
    tokens and the batch size, never on which sequences share its batch nor on how a windows table
    was chunked. k-mer vocabularies (Nucleotide Transformer) are tokenised by ``KmerTokenizer``
    (numpy, the tokenizer's own ids); plain transformers ESM classifiers run their last layer at
    <cls> only (``esm_cls_logits``). Both are checked against the model's own tokenizer and forward
    before use and left out where they would differ.
    """

    def __init__(self, model: Any, tokenizer: Any, spec: dict[str, Any], device: str = "cpu",
                 batch_size: int = 32) -> None:
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.spec = spec
        self.name = str(spec.get("model_name", spec.get("source", "hf")))
        self.device = device
        self.batch_size = batch_size
        self.max_tokens = int(spec.get("max_tokens") or DEFAULT_MAX_TOKENS)

    def kmer_tokenizer(self) -> KmerTokenizer | None:
        """The numpy k-mer tokenizer for this adapter's tokenizer, or None (built and checked once)."""
        cached = getattr(self, "_kmer_cache", None)
        if cached is None or cached[0] is not self.tokenizer:
            cached = self._kmer_cache = (self.tokenizer, KmerTokenizer.for_tokenizer(self.tokenizer))
        return cached[1]

    def uses_esm_cls_path(self) -> bool:
        """Whether forward passes go through ``esm_cls_logits`` (checked once per model object)."""
        cached = getattr(self, "_esm_cache", None)
        if cached is None or cached[0] is not self.model:
            cached = self._esm_cache = (self.model, _esm_cls_path(self.model))
        return cached[1]

    def length_step(self) -> int:
        """1 when the tokenizer gives every ``input_length`` sequence of A, C, G, T the same token
        count (k-mer and character tokenizers), else ``LENGTH_STEP`` (checked once on fixed probes)."""
        cached = getattr(self, "_step_cache", None)
        if cached is None or cached[0] is not self.tokenizer:
            rng = np.random.default_rng(0)
            n = int(self.spec.get("input_length") or 1000)
            probes = ["".join(rng.choice(np.array(list("ACGT")), n)) for _ in range(4)]
            counts = {len(row) for row in self.token_ids(probes)["input_ids"]}
            cached = self._step_cache = (self.tokenizer, 1 if len(counts) == 1 else LENGTH_STEP)
        return cached[1]

    def _tokenize(self, seqs: list[str]) -> dict[str, list[list[int]]]:
        """Unpadded encodings with special tokens, one list per key and sequence."""
        fast = self.kmer_tokenizer()
        if fast is None:
            return {key: [list(row) for row in value] for key, value in self.tokenizer(seqs, truncation=False).items()}
        rows = fast.ids(seqs)
        ids = [None if row is None else row.tolist() for row in rows]
        rest = [i for i, row in enumerate(ids) if row is None]
        if rest:  # characters other than ACGTN: the tokenizer itself
            for i, row in zip(rest, self.tokenizer([seqs[i] for i in rest], truncation=False)["input_ids"]):
                ids[i] = list(row)
        enc = {"input_ids": ids}
        if "attention_mask" in fast.keys:
            enc["attention_mask"] = [[1] * len(row) for row in ids]
        return enc

    def _count_tokens(self, seqs: list[str]) -> list[int]:
        """Token counts without special tokens, as the tokenizer gives them."""
        special = self.tokenizer.num_special_tokens_to_add(pair=False)
        return [len(row) - special for row in self._tokenize(seqs)["input_ids"]]

    def token_ids(self, seqs: list[str]) -> dict[str, list[list[int]]]:
        """Unpadded encodings after uppercasing, fitting to input_length and centre-cropping to max_tokens.

        Parameters
        ----------
        seqs : list[str]
            DNA sequences (any case).

        Returns
        -------
        dict[str, list[list[int]]]
            The tokenizer's keys (``input_ids``, ``attention_mask``, ...), one id list per
            sequence, each at most ``max_tokens`` long, special tokens included.
        """
        seqs = [s.upper() for s in seqs]
        length = self.spec.get("input_length")
        if length:
            seqs = [fit_length(s, int(length)) for s in seqs]
        # tokenised once; only sequences whose tokens exceed max_tokens are cropped and tokenised again
        enc = self._tokenize(seqs)
        longer = [i for i, row in enumerate(enc["input_ids"]) if len(row) > self.max_tokens]
        if longer:
            count = self._count_tokens if self.kmer_tokenizer() is not None else None
            cropped = crop_to_tokens([seqs[i] for i in longer], self.tokenizer, self.max_tokens, count=count)
            again = self._tokenize(cropped)
            for key in enc:
                for j, i in enumerate(longer):
                    enc[key][i] = again[key][j]
        return enc

    def encode(self, seqs: list[str]) -> dict[str, torch.Tensor]:
        """Token tensors padded to max_tokens, after fitting to input_length and centre-cropping.

        Parameters
        ----------
        seqs : list of str
            DNA sequences (any case).

        Returns
        -------
        dict of str to torch.Tensor
            The tokenizer's keys (``input_ids``, ``attention_mask``, ...), each int64, shape (n, max_tokens).
        """
        enc = self.token_ids(seqs)
        # padding an existing encoding is what we mean here; transformers' advice to fast tokenizers
        # (tokenise and pad in one call) would mean tokenising twice
        getattr(self.tokenizer, "deprecation_warnings", {})["Asking-to-pad-a-fast-tokenizer"] = True
        return dict(self.tokenizer.pad(enc, padding="max_length", max_length=self.max_tokens, return_tensors="pt"))

    def _logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The model's logits for one batch of unpadded rows (no attention mask needed)."""
        if set(batch) == {"input_ids"} and self.uses_esm_cls_path():
            return esm_cls_logits(self.model, batch["input_ids"])
        return self.model(**batch).logits

    def logit_differences(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """logit_1 - logit_0 per sequence.

        Parameters
        ----------
        seqs : list[str]
            DNA sequences.
        batch_size : int, optional
            Rows of every forward pass (default: the adapter's ``batch_size``).

        Returns
        -------
        np.ndarray
            float64, shape (len(seqs),).
        """
        size = batch_size or self.batch_size
        enc = self.token_ids(list(seqs))
        step = self.length_step()
        if step > 1:
            size = min(size, VARIABLE_LENGTH_ROWS)
        lengths = np.array([len(row) for row in enc["input_ids"]], dtype=np.int64)
        padded = -(-lengths // step) * step  # a function of the sequence's own length only
        # one padded length per batch, in a fixed order: sequences by length, then as given
        order = np.argsort(padded, kind="stable")
        cuts = np.flatnonzero(np.diff(padded[order])) + 1
        batches = [group[i:i + size] for group in np.split(order, cuts) for i in range(0, len(group), size)]
        out = np.empty(len(lengths), dtype=np.float64)
        # padding an existing encoding is what we mean (see encode)
        getattr(self.tokenizer, "deprecation_warnings", {})["Asking-to-pad-a-fast-tokenizer"] = True
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for rows in tqdm(batches, desc="predict", unit="batch", disable=None, leave=False):
                    n = len(rows)
                    rows = np.concatenate([rows, np.repeat(rows[:1], size - n)])  # fixed shape: copies of row 0
                    batch = {key: [value[i] for i in rows] for key, value in enc.items()}
                    if step > 1:  # the tokenizer's own padding (side, pad id, attention mask)
                        batch = dict(self.tokenizer.pad(batch, padding="max_length", max_length=int(padded[rows[0]]),
                                                        return_tensors="pt"))
                    else:
                        batch = {key: torch.tensor(value, dtype=torch.long) for key, value in batch.items()}
                    if "attention_mask" in batch and bool(batch["attention_mask"].all()):
                        del batch["attention_mask"]  # all ones: None means the same, and is faster
                    logits = self._logits({k: v.to(self.device) for k, v in batch.items()})[:n]
                    logits = logits.detach().to("cpu", torch.float64).numpy()
                    if logits.shape[1] != 2:
                        raise InputError(f"model {self.name}: expected a 2-class head, got {logits.shape[1]} outputs")
                    out[rows[:n]] = logits[:, 1] - logits[:, 0]
        finally:
            self.model.train(was_training)
        return out

    def predict(self, seqs: list[str], batch_size: int | None = None) -> np.ndarray:
        """Enhancer probabilities in [0, 1], float64, shape (n,).

        Parameters
        ----------
        seqs : list of str
            DNA sequences.
        batch_size : int, optional
            Rows of every forward pass (default: the adapter's ``batch_size``).

        Returns
        -------
        numpy.ndarray, float64, shape (n,)
            sigmoid(logit_1 - logit_0) per sequence.

        Raises
        ------
        InputError
            The model's head does not have 2 outputs.
        """
        if len(seqs) == 0:
            return np.zeros(0, dtype=np.float64)
        return sigmoid(self.logit_differences(list(seqs), batch_size))


def load_adapter(spec: dict[str, Any], weights: str | os.PathLike | None, device: str = "cpu") -> HFAdapter:
    """The fine-tuned checkpoint beside spec.json, or (spec dict without weights) spec["source"] itself.

    A hub or local checkpoint without a trained head gets one seeded from ``spec["seed"]``. A
    spec whose ``checkpoint`` is None (a model scored as published, ``train --published``) loads
    ``spec["source"]`` even from a model directory.

    Parameters
    ----------
    spec : dict
        Model spec (``source``, ``tokenizer``, ``checkpoint``, ``trust_remote_code``, ``revision``,
        ``seed``, ``max_tokens``, ``input_length``, ...).
    weights : str, PathLike or None
        A file in the model directory (its ``spec.json``); the checkpoint is the ``spec["checkpoint"]``
        folder beside it. None loads ``spec["source"]``.
    device : str
        Torch device the adapter predicts on.

    Returns
    -------
    HFAdapter

    Raises
    ------
    InputError
        The fine-tuned checkpoint folder is missing, or a spec without weights has no ``source``.
    ModelUnavailableError
        The checkpoint or its tokenizer cannot be loaded (``load_pretrained``).
    """
    spec = dict(spec)
    if "checkpoint" in spec and spec["checkpoint"] is None:
        weights = None  # no fine-tuned checkpoint of its own: the source is the model
    if weights is not None:
        checkpoint = Path(weights).parent / spec.get("checkpoint", CHECKPOINT_DIR)
        if not checkpoint.is_dir():
            raise InputError(f"model {spec.get('model_name', '?')}: fine-tuned checkpoint not found: {checkpoint}")
        source, tokenizer_source = str(checkpoint), None
    else:
        if not spec.get("source"):
            raise InputError("an hf model spec needs 'source' (a checkpoint directory or hub id)")
        source, tokenizer_source = str(spec["source"]), spec.get("tokenizer")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(spec.get("seed", 0)))
        model, tokenizer = load_pretrained(source, tokenizer_source, bool(spec.get("trust_remote_code", False)),
                                           spec.get("model_name"), revision=None if weights is not None
                                           else spec.get("revision"))
    if weights is None:  # a hub or local base checkpoint: record the commit it resolved to
        spec["resolved_revision"] = resolved_revision(model)
    return HFAdapter(model, tokenizer, spec, device=device)


def _mixed_precision(precision: str) -> dict[str, bool]:
    """TrainingArguments flags for a concrete training precision (regvarbench.device.resolve_precision, training=True).

    Data-parallel training comes from the process environment: ``regvarbench train --processes N``
    (or torchrun / accelerate launch) starts N processes and the Trainer runs DDP across them.
    """
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}



class _Examples(torch.utils.data.Dataset):
    """Tokenized sequences with labels, padded per batch by the Trainer's collator."""

    def __init__(self, encodings: dict[str, list[list[int]]], labels: np.ndarray) -> None:
        self.encodings, self.labels = encodings, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {**{k: v[i] for k, v in self.encodings.items()}, "labels": int(self.labels[i])}


def train_hf(table: pd.DataFrame, config: HFTrainConfig, source_label: str = "<table>",
             trainer_dir: str | os.PathLike | None = None, resume: bool = True, callbacks: tuple = (),
             runtime: Any = None, checkpoint_dir: str | os.PathLike | None = None,
             ) -> tuple[HFAdapter, dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Fine-tune on the train rows with early stopping on validation loss; (adapter, spec, curve, detection).

    ``trainer_dir``: where the Trainer keeps its epoch checkpoints (model, optimizer, scheduler, RNG
    states, early-stopping state, and the training curve so far); with ``resume`` a run finds the
    last one there and continues from it after a kill (without ``resume`` the folder is emptied
    first). Without it, a temporary folder is used.
    ``checkpoint_dir`` instead: the Trainer's folder is ``<dir>/<fingerprint>/``, so runs with other
    data or settings never meet (a folder shared by the retries of a pipeline task).
    ``callbacks``: extra TrainerCallbacks (tests interrupt a run with one). ``runtime``
    (regvarbench.runtime.Runtime): device, precision and time limit; default: this process, the
    visible GPU if any. At the time limit the run stops after an epoch's checkpoint (TrainingPaused).

    Parameters
    ----------
    table : pandas.DataFrame
        Split table (``contracts.validate_split_table``): ``sequence``, ``label``, ``split``
        (train/valid/test), ``cell_line``, ...
    config : HFTrainConfig
        Checkpoint and fine-tuning settings.
    source_label : str
        Name of the table in error messages.
    trainer_dir : str or PathLike, optional
        The Trainer's checkpoint folder (see above).
    resume : bool
        Continue from the last checkpoint in the Trainer's folder.
    callbacks : tuple of transformers.TrainerCallback
        Extra callbacks.
    runtime : regvarbench.runtime.Runtime, optional
        Device, precision, processes and time limit; default ``make_runtime()``.
    checkpoint_dir : str or PathLike, optional
        Parent of per-fingerprint Trainer folders (see above); not with ``trainer_dir``.

    Returns
    -------
    tuple
        ``(adapter, spec, curve, detection)``: the ``HFAdapter`` with the best epoch's weights, its spec
        dict, the training curve (``pandas.DataFrame``: epoch, train_loss, valid_loss, valid_auroc,
        one row per epoch) and the enhancer-detection table (``pandas.DataFrame``, valid and test rows).

    Raises
    ------
    InputError
        A setting below 1, both ``trainer_dir`` and ``checkpoint_dir``, or a checkpoint to resume
        written for other data or settings (and the table's own checks).
    """
    import transformers

    check_model_name(config.model_name)
    if min(config.epochs, config.patience, config.batch_size, config.logging_steps, config.max_tokens) < 1:
        raise InputError("--epochs, --patience, --batch-size, --logging-steps and --max-tokens must be at least 1")
    df = validate_split_table(table, source_label)
    cell_line = str(df["cell_line"].iloc[0])
    input_length = int(len(df["sequence"].iloc[0]))
    parts = {s: df[df["split"] == s] for s in SPLITS}
    y = {s: p["label"].to_numpy() for s, p in parts.items()}
    runtime = runtime or make_runtime()
    device = runtime.device
    if trainer_dir is not None and checkpoint_dir is not None:
        raise InputError("give a Trainer folder or a checkpoint directory, not both")
    fingerprint = training_fingerprint(config, {"device": device, "runtime": runtime.summary()}, [df], None)
    if checkpoint_dir is not None:
        trainer_dir = Path(checkpoint_dir) / fingerprint[:16]
    if trainer_dir is not None and not resume and runtime.is_main:  # start afresh: no stale epochs left
        shutil.rmtree(trainer_dir, ignore_errors=True)
    log.info("fine-tuning %s (%s) on %s: %s sequences of %d bp, <= %d tokens", config.model_name, config.source,
             cell_line, ", ".join(f"{len(y[s])} {s}" for s in SPLITS), input_length, config.max_tokens)

    seed_everything(config.seed)
    model, tokenizer = load_pretrained(config.source, config.tokenizer, config.trust_remote_code, config.model_name,
                                       revision=config.revision)
    spec: dict[str, Any] = {"model_name": config.model_name, "family": FAMILY, "source": config.source,
                            "tokenizer": config.tokenizer, "checkpoint": CHECKPOINT_DIR,
                            "max_tokens": config.max_tokens, "trust_remote_code": config.trust_remote_code,
                            "revision": config.revision, "resolved_revision": resolved_revision(model),
                            "input_length": input_length, "cell_line": cell_line, "seed": config.seed}
    adapter = HFAdapter(model, tokenizer, spec, device=device)

    def examples(split: str) -> _Examples:
        seqs = crop_to_tokens(parts[split]["sequence"].tolist(), tokenizer, config.max_tokens)
        enc = tokenizer(seqs, truncation=True, max_length=config.max_tokens)
        return _Examples({k: list(v) for k, v in enc.items()}, y[split])

    recorder = _CurveRecorder(runtime.accelerator.wait_for_everyone)

    class _Trainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            result = super().compute_loss(model, inputs, return_outputs=return_outputs,
                                          num_items_in_batch=num_items_in_batch)
            if model.training:  # prediction_step also calls compute_loss, in eval mode
                recorder.losses.append(float((result[0] if return_outputs else result).detach()))
            return result

        def _load_optimizer_and_scheduler(self, checkpoint):
            # several CPU processes: the Trainer maps the optimizer state to args.device, "cpu:0",
            # which torch.load cannot restore; the CPU is where it belongs anyway
            if checkpoint is None or self.args.world_size == 1 or self.args.device.type != "cpu":
                return super()._load_optimizer_and_scheduler(checkpoint)
            self.optimizer.load_state_dict(torch.load(Path(checkpoint) / "optimizer.pt", map_location="cpu",
                                                      weights_only=True))
            self.lr_scheduler.load_state_dict(torch.load(Path(checkpoint) / "scheduler.pt", weights_only=True))

    def compute_metrics(pred) -> dict[str, float]:
        logits = np.asarray(pred.predictions, dtype=np.float64)
        return {"auroc": detection_metrics(pred.label_ids, sigmoid(logits[:, 1] - logits[:, 0]))["auroc"]}

    persistent = trainer_dir is not None
    with (contextlib.nullcontext(str(trainer_dir)) if persistent
          else tempfile.TemporaryDirectory(prefix="hf-trainer-")) as scratch, deterministic_algorithms(device):
        last = None
        if persistent:  # a checkpoint is only continued with the data and settings that wrote it
            # read only once every process got here (process 0 has emptied the folder for --no-resume);
            # process 0 replaces the stamp atomically, and only after every process has read it
            runtime.accelerator.wait_for_everyone()
            last = _last_checkpoint(scratch) if resume else None
            stamp = Path(scratch) / FINGERPRINT_FILE
            stamped = stamp.is_file() and stamp.read_text() == fingerprint
            if last is not None and not stamped:
                raise InputError(f"checkpoint {last} was written for other data or settings; "
                                 "remove it or use --no-resume")
            runtime.accelerator.wait_for_everyone()
            if runtime.is_main and not stamped:
                write_text_atomic(stamp, fingerprint)
        if last is not None:
            recorder.records = json.loads((last / CURVE_FILE).read_text())
            log.info("resuming from %s (after epoch %d)", last, len(recorder.records))
        args = TrainingArguments(
            output_dir=scratch, per_device_train_batch_size=config.batch_size,
            per_device_eval_batch_size=max(config.batch_size, 32), learning_rate=config.lr,
            weight_decay=config.weight_decay, num_train_epochs=config.epochs, eval_strategy="epoch",
            # a resumable run keeps the optimizer, scheduler and RNG states, and the best and the last epoch
            save_strategy="epoch", save_only_model=not persistent, save_total_limit=2 if persistent else 1,
            load_best_model_at_end=True,
            metric_for_best_model="eval_loss", greater_is_better=False, logging_strategy="steps",
            logging_steps=config.logging_steps, seed=config.seed, data_seed=config.seed, report_to=[],
            use_cpu=device == "cpu", dataloader_num_workers=0, disable_tqdm=True,
            # mixed precision on GPUs by default (bf16 where the card has it, else fp16); fp32 on CPUs,
            # where bf16 without native support is a slowdown (regvarbench.device.resolve_precision, training=True)
            **_mixed_precision(runtime.precision))
        trainer = _Trainer(model=model, args=args, train_dataset=examples("train"), eval_dataset=examples("valid"),
                           processing_class=tokenizer, compute_metrics=compute_metrics,
                           callbacks=[EarlyStoppingCallback(early_stopping_patience=config.patience), recorder,
                                      *callbacks, *([_TimeLimit(runtime)] if persistent else [])])
        trainer.remove_callback(PrinterCallback)  # it prints; the recorder logs instead
        trainer.train(resume_from_checkpoint=str(last) if last is not None else None)
        adapter.model = trainer.model.to(device).eval()  # the best epoch's weights (load_best_model_at_end)
        adapter.trainer_dir = Path(scratch) if persistent else None  # for the caller to remove once saved

    curve = pd.DataFrame(recorder.records, columns=["epoch", "train_loss", "valid_loss", "valid_auroc"])
    best_epoch = int(curve.loc[curve["valid_loss"].idxmin(), "epoch"])
    probs = {s: adapter.predict(parts[s]["sequence"].tolist()) for s in ("valid", "test")}
    detection = detection_table(config.model_name, cell_line, y, probs)
    training = {k: v for k, v in asdict(config).items()
                if k not in ("model_name", "source", "tokenizer", "max_tokens", "trust_remote_code", "revision", "seed")}
    spec.update({"training": {**training, "threads": torch.get_num_threads(), **runtime.summary()},
                 "epochs_run": int(len(curve)), "best_epoch": best_epoch,
                 "best_valid_loss": float(curve["valid_loss"].min()),
                 "n_train": len(y["train"]), "n_valid": len(y["valid"]), "n_test": len(y["test"]),
                 "torch_version": torch.__version__, "transformers_version": transformers.__version__,
                 "regvarbench_version": __version__})
    log_detection(detection)
    return adapter, spec, curve, detection


CURVE_FILE = "regvarbench_curve.json"  # the training curve so far, inside each Trainer checkpoint
FINGERPRINT_FILE = "fingerprint.txt"  # beside the Trainer checkpoints: the data and settings they belong to


def _last_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The newest Trainer checkpoint in ``folder`` that holds our curve, or None."""
    found = [p for p in Path(folder).glob("checkpoint-*") if (p / CURVE_FILE).is_file()
             and p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


class _CurveRecorder(TrainerCallback):
    """Trainer callback: one training-curve row per evaluation (= per epoch)."""

    def __init__(self, barrier: Any = None) -> None:
        self.losses: list[float] = []
        self.records: list[dict[str, float]] = []
        self.barrier = barrier or (lambda: None)  # waits for every data-parallel process

    def on_evaluate(self, args, state, control, metrics=None, **kwargs) -> None:
        """Append the curve row of the epoch just evaluated (mean train loss since the last one).

        Parameters
        ----------
        args : transformers.TrainingArguments
            The Trainer's arguments.
        state : transformers.TrainerState
            The Trainer's state (``epoch``).
        control : transformers.TrainerControl
            The Trainer's control flags.
        metrics : dict, optional
            Evaluation metrics; ``eval_loss`` is required, ``eval_auroc`` optional.
        **kwargs
            Further objects the Trainer passes (model, tokenizer, ...); unused.

        Returns
        -------
        None
        """
        metrics = metrics or {}
        self.records.append({"epoch": int(round(state.epoch or 0)),
                             "train_loss": float(np.mean(self.losses)) if self.losses else float("nan"),
                             "valid_loss": float(metrics["eval_loss"]),
                             "valid_auroc": float(metrics.get("eval_auroc", float("nan")))})
        self.losses.clear()
        log.info("epoch %d: train_loss %.4f valid_loss %.4f valid_auroc %.4f", *self.records[-1].values())

    def on_save(self, args, state, control, **kwargs) -> None:
        """The curve so far goes into the checkpoint just written, so a resumed run has it.

        It also marks the checkpoint complete (_last_checkpoint takes only marked ones): written
        atomically, and only after every process has written its share (its RNG state).

        Parameters
        ----------
        args : transformers.TrainingArguments
            The Trainer's arguments (``output_dir``).
        state : transformers.TrainerState
            The Trainer's state (``global_step``, ``is_world_process_zero``).
        control : transformers.TrainerControl
            The Trainer's control flags.
        **kwargs
            Further objects the Trainer passes (model, tokenizer, ...); unused.

        Returns
        -------
        None
        """
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        self.barrier()
        if folder.is_dir() and state.is_world_process_zero:
            write_text_atomic(folder / CURVE_FILE, json.dumps(self.records))

    def on_log(self, args, state, control, logs=None, **kwargs) -> None:
        """Log the training loss of a logging step.

        Parameters
        ----------
        args : transformers.TrainingArguments
            The Trainer's arguments.
        state : transformers.TrainerState
            The Trainer's state (``global_step``, ``max_steps``).
        control : transformers.TrainerControl
            The Trainer's control flags.
        logs : dict, optional
            The logged values; only a ``loss`` entry is logged.
        **kwargs
            Further objects the Trainer passes (model, tokenizer, ...); unused.

        Returns
        -------
        None
        """
        if logs and "loss" in logs:
            log.info("step %d/%d: loss %.4f", state.global_step, state.max_steps, logs["loss"])


class _TimeLimit(TrainerCallback):
    """Stop after an epoch's checkpoint when one more epoch would pass the runtime's time limit."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.epoch_started = time.monotonic()

    def on_epoch_begin(self, args, state, control, **kwargs) -> None:
        """Start the clock of the epoch.

        Parameters
        ----------
        args : transformers.TrainingArguments
            The Trainer's arguments.
        state : transformers.TrainerState
            The Trainer's state.
        control : transformers.TrainerControl
            The Trainer's control flags.
        **kwargs
            Further objects the Trainer passes (model, tokenizer, ...); unused.

        Returns
        -------
        None
        """
        self.epoch_started = time.monotonic()

    def on_save(self, args, state, control, **kwargs) -> None:
        """Stop the run (``TrainingPaused``) after this checkpoint if one more epoch would pass the time limit.

        Parameters
        ----------
        args : transformers.TrainingArguments
            The Trainer's arguments (``num_train_epochs``, ``output_dir``).
        state : transformers.TrainerState
            The Trainer's state (``epoch``).
        control : transformers.TrainerControl
            The Trainer's control flags (``should_training_stop``).
        **kwargs
            Further objects the Trainer passes (model, tokenizer, ...); unused.

        Returns
        -------
        None
        """
        from accelerate.utils import broadcast_object_list

        last = state.epoch is not None and state.epoch >= args.num_train_epochs
        if control.should_training_stop or last:
            return
        # process 0's clock decides for all (processes deciding apart would part ways)
        if not broadcast_object_list([self.runtime.out_of_time(time.monotonic() - self.epoch_started)])[0]:
            return
        self.runtime.accelerator.wait_for_everyone()  # every process past the checkpoint before any stops
        raise TrainingPaused(f"time limit of {self.runtime.time_limit:g} s: stopped after epoch {int(state.epoch)}; "
                             f"checkpoint in {args.output_dir}; run again to continue")


def save_outputs(outdir: str | os.PathLike, adapter: HFAdapter, spec: dict[str, Any], curve: pd.DataFrame,
                 detection: pd.DataFrame) -> Path:
    """DIR/<model>__<cell>/ with checkpoint/, spec.json, training_curve.tsv, enhancer_detection.tsv.

    Parameters
    ----------
    outdir : str or PathLike
        Output directory; the model's folder is ``artifacts.model_dir(outdir, model_name, cell_line)``.
    adapter : HFAdapter
        The trained adapter (its model and tokenizer are saved).
    spec : dict
        Its spec (``model_name`` and ``cell_line`` required); ``family`` is set to ``hf`` in the written copy.
    curve : pandas.DataFrame
        Training curve.
    detection : pandas.DataFrame
        Enhancer-detection table.

    Returns
    -------
    pathlib.Path
        The model directory.
    """
    target = model_dir(outdir, spec["model_name"], spec["cell_line"])
    target.mkdir(parents=True, exist_ok=True)
    adapter.model.save_pretrained(target / CHECKPOINT_DIR)
    adapter.tokenizer.save_pretrained(target / CHECKPOINT_DIR)
    write_spec(target, {**spec, "family": FAMILY})
    write_tsv(curve, target / "training_curve.tsv")
    write_tsv(detection, target / DETECTION_FILE)
    return target
