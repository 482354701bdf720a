"""HFAdapter scoring: the numpy k-mer tokenizer gives the model's own tokenizer's ids, the
length-bucketed, unpadded passes (and the ESM <cls>-only last layer) give the plain per-sequence
scores to fp32 rounding, and a sequence's output never depends on what shares its batch."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from tokenizers import Regex, Tokenizer, models, pre_tokenizers
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, EsmConfig, EsmForSequenceClassification,
                          EsmTokenizer, PreTrainedTokenizerFast)

from regvarbench.models import hf, load_model
from regvarbench.score import score_windows

from .test_models_hf import build_bert_checkpoint, build_esm_checkpoint, variant_windows


def kmer_vocab(k: int) -> list[str]:
    return ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", *("".join(p) for p in itertools.product("ACGT", repeat=k)),
            "A", "T", "C", "G", "N"]


def esm_checkpoint(path, k: int = 6, positions: str = "rotary", scale: float = 300.0) -> str:
    """A tiny 2-layer ESM classifier over k-mers whose head is scaled up: logits of a few units,
    as a trained model's, so that agreement to 1e-5 means something."""
    path.mkdir(parents=True)
    vocab = kmer_vocab(k)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    config = EsmConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=64, max_position_embeddings=300, position_embedding_type=positions,
                       pad_token_id=1, mask_token_id=2, token_dropout=False, num_labels=2)
    torch.manual_seed(0)
    model = EsmForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.out_proj.weight.mul_(scale)
    model.save_pretrained(path)
    EsmTokenizer(vocab_file=str(path / "vocab.txt")).save_pretrained(path)
    return str(path)


def random_seqs(n: int, seed: int = 0, max_length: int = 90) -> list[str]:
    """ACGT with and without Ns and N runs, lowercase, odd lengths, the odd other character."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        length = int(rng.integers(0, max_length))
        p = [0.25, 0.25, 0.25, 0.25, 0.0] if i % 3 == 0 else rng.dirichlet(np.ones(5))
        seq = "".join(rng.choice(list("ACGTN"), length, p=p))
        if i % 5 == 1:
            seq = seq.lower()
        if i % 17 == 2 and seq:
            seq = seq[:length // 2] + "R" + seq[length // 2 + 1:]  # not ACGTN: left to the tokenizer
        out.append(seq)
    return out


def reference_ids(tokenizer, seqs: list[str], max_tokens: int) -> list[list[int]]:
    """The plain path: uppercase, centre-crop with the tokenizer's own counts, tokenise."""
    return tokenizer(hf.crop_to_tokens([s.upper() for s in seqs], tokenizer, max_tokens))["input_ids"]


@pytest.mark.parametrize("k", [6, 3])
def test_kmer_tokenizer_gives_the_slow_tokenizers_ids(tmp_path, k):
    source = esm_checkpoint(tmp_path / "esm", k=k)
    tokenizer = AutoTokenizer.from_pretrained(source)
    assert type(tokenizer) is EsmTokenizer  # the slow Python tokenizer
    fast = hf.KmerTokenizer.for_tokenizer(tokenizer)
    assert fast is not None and fast.k == k
    seqs = [s.upper() for s in random_seqs(1500, seed=k)]
    got = fast.ids(seqs)
    want = tokenizer(seqs)["input_ids"]
    for seq, g, w in zip(seqs, got, want):
        if "R" in seq:
            assert g is None
        else:
            assert g.tolist() == w, seq
    # through the adapter: lowercase, other characters, and sequences over max_tokens (centre-cropped)
    adapter = load_model({"family": "hf", "model_name": "x", "source": source, "max_tokens": 12})
    seqs = random_seqs(600, seed=10 + k, max_length=140)
    assert sum(len(w) > 12 for w in tokenizer([s.upper() for s in seqs])["input_ids"]) > 100
    assert adapter.token_ids(seqs)["input_ids"] == reference_ids(tokenizer, seqs, 12)
    assert adapter.kmer_tokenizer() is not None


def test_kmer_tokenizer_is_only_used_where_it_gives_the_same_ids(tmp_path):
    # a character tokenizer with token_type_ids, and a 6-mer vocabulary missing one k-mer
    bert = AutoTokenizer.from_pretrained(build_bert_checkpoint(tmp_path / "bert"))
    assert hf.KmerTokenizer.for_tokenizer(bert) is None
    (tmp_path / "missing.txt").write_text("\n".join(t for t in kmer_vocab(6) if t != "ACGTAC") + "\n")
    assert hf.KmerTokenizer.for_tokenizer(EsmTokenizer(vocab_file=str(tmp_path / "missing.txt"))) is None
    # the same vocabulary, but a tokenizer that frames differently (6 characters, N or not, per token)
    vocab = kmer_vocab(6)
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    backend = Tokenizer(models.WordLevel({t: i for i, t in enumerate(vocab)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("[ACGTN]{6}|."), behavior="isolated")
    other = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>",
                                    model_input_names=["input_ids", "attention_mask"])
    assert other("ACGTACGTAC")["input_ids"] == EsmTokenizer(vocab_file=str(tmp_path / "vocab.txt"))(
        "ACGTACGTAC", add_special_tokens=False)["input_ids"]  # agrees without N ...
    assert hf.KmerTokenizer.for_tokenizer(other) is None  # ... but not on the probes with N


def plain_logit_differences(source: str, seqs: list[str], max_tokens: int) -> np.ndarray:
    """The study's way, one sequence at a time: the model as from_pretrained gives it, its own
    tokenizer, its own forward, no batching."""
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(source).eval()
    out = []
    with torch.no_grad():
        for ids in reference_ids(tokenizer, seqs, max_tokens):
            logits = model(input_ids=torch.tensor([ids])).logits.double()[0]
            out.append(float(logits[1] - logits[0]))
    return np.array(out)


@pytest.mark.parametrize("positions", ["rotary", "absolute"])
def test_bucketed_scores_equal_the_plain_per_sequence_path(tmp_path, positions):
    source = esm_checkpoint(tmp_path / "esm", positions=positions)
    adapter = load_model({"family": "hf", "model_name": "x", "source": source, "max_tokens": 20})
    assert adapter.uses_esm_cls_path() and adapter.kmer_tokenizer() is not None
    seqs = random_seqs(70, seed=3, max_length=150)  # many token lengths, several over 20 tokens
    got = adapter.logit_differences(seqs, batch_size=8)
    want = plain_logit_differences(source, seqs, 20)
    assert np.abs(want).max() > 1  # logits of a trained model's size
    diff = np.abs(got - want).max()
    print(f"max |logit difference| bucketed vs plain ({positions}): {diff:.1e}")
    assert diff < 1e-5
    np.testing.assert_allclose(adapter.predict(seqs, batch_size=8), hf.sigmoid(want), rtol=0, atol=1e-6)


def test_bucketed_scores_of_other_models_equal_the_plain_path(tmp_path):
    """A BERT classifier with a fast character tokenizer: no k-mer tokenizer, no ESM shortcut,
    the same length buckets without an attention mask."""
    source = build_bert_checkpoint(tmp_path / "bert", max_positions=64)
    adapter = load_model({"family": "hf", "model_name": "b", "source": source, "max_tokens": 40})
    assert adapter.kmer_tokenizer() is None and not adapter.uses_esm_cls_path()
    seqs = random_seqs(40, seed=4, max_length=70)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(source).eval()
    want = []
    with torch.no_grad():
        for seq in hf.crop_to_tokens([s.upper() for s in seqs], tokenizer, 40):
            logits = model(**tokenizer([seq], return_tensors="pt")).logits.double()[0]
            want.append(float(logits[1] - logits[0]))
    assert np.abs(adapter.logit_differences(seqs, batch_size=4) - np.array(want)).max() < 1e-5


def test_a_failing_shortcut_check_falls_back_to_the_models_forward(tmp_path, monkeypatch):
    source = esm_checkpoint(tmp_path / "esm")
    seqs = random_seqs(20, seed=5)
    want = load_model({"family": "hf", "model_name": "x", "source": source}).logit_differences(seqs)
    monkeypatch.setattr(hf, "esm_cls_logits", lambda model, ids: model(input_ids=ids).logits + 1)
    adapter = load_model({"family": "hf", "model_name": "x", "source": source})
    assert not adapter.uses_esm_cls_path()
    np.testing.assert_allclose(adapter.logit_differences(seqs), want, rtol=0, atol=1e-5)


def test_outputs_do_not_depend_on_batch_mates_and_repeat_bit_for_bit(tmp_path):
    source = esm_checkpoint(tmp_path / "esm")
    adapter = load_model({"family": "hf", "model_name": "x", "source": source, "max_tokens": 20})
    seqs = random_seqs(45, seed=6, max_length=150)
    whole = adapter.logit_differences(seqs, batch_size=8)
    assert np.array_equal(whole, adapter.logit_differences(seqs, batch_size=8))  # same call, same bits
    assert np.array_equal(whole[::-1], adapter.logit_differences(seqs[::-1], batch_size=8))
    alone = np.concatenate([adapter.logit_differences([s], batch_size=8) for s in seqs[:12]])
    assert np.array_equal(whole[:12], alone)
    parts = np.concatenate([adapter.logit_differences(seqs[i:i + 7], batch_size=8) for i in range(0, 45, 7)])
    assert np.array_equal(whole, parts)
    # score tables: reordered windows, the same bits per variant
    windows = variant_windows(n=10)
    first = score_windows(adapter, windows, batch_size=8)
    again = score_windows(load_model({"family": "hf", "model_name": "x", "source": source, "max_tokens": 20}),
                          windows.iloc[::-1].reset_index(drop=True), batch_size=8)
    pd.testing.assert_frame_equal(first, again.iloc[::-1].reset_index(drop=True), check_exact=True)


def test_encode_keeps_its_padded_tensors(tmp_path):
    """encode (used by the linear probes) still pads to max_tokens, with the tokenizer's tensors."""
    adapter = load_model({"family": "hf", "model_name": "x", "source": build_esm_checkpoint(tmp_path / "esm"),
                          "max_tokens": 16})
    seqs = random_seqs(30, seed=7, max_length=120)
    want = adapter.tokenizer(hf.crop_to_tokens([s.upper() for s in seqs], adapter.tokenizer, 16),
                             padding="max_length", max_length=16, return_tensors="pt")
    got = adapter.encode(seqs)
    assert got.keys() == dict(want).keys() and all(torch.equal(got[k], want[k]) for k in got)


def test_variable_length_tokenizer_shares_padded_masked_batches(tmp_path):
    """A BPE-like tokenizer (token count varies with the sequence, as DNABERT-2's): lengths are
    rounded up to hf.LENGTH_STEP, padded and masked by the tokenizer, at most VARIABLE_LENGTH_ROWS
    rows per pass; scores equal the plain one-sequence path and never depend on batch mates."""
    from tokenizers import processors
    from transformers import BertConfig, BertForSequenceClassification

    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "ACG", "GT", "TT", "CA", "A", "C", "G", "T", "N"]
    backend = Tokenizer(models.WordLevel({t: i for i, t in enumerate(tokens)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("ACG|GT|TT|CA|."), behavior="isolated")
    backend.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                           special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]",
                                        cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    source = tmp_path / "bpe"
    config = BertConfig(vocab_size=len(tokens), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=128, pad_token_id=0, num_labels=2)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.mul_(50.0)  # logits of a few units
    model.save_pretrained(source)
    tokenizer.save_pretrained(source)
    adapter = load_model({"family": "hf", "model_name": "bpe", "source": str(source), "input_length": 90,
                          "max_tokens": 100})
    assert adapter.length_step() == hf.LENGTH_STEP and adapter.kmer_tokenizer() is None
    rng = np.random.default_rng(7)
    seqs = ["".join(rng.choice(list("ACGT"), 90)) for _ in range(60)]
    counts = {len(row) for row in adapter.token_ids(seqs)["input_ids"]}
    assert len(counts) > 5  # many exact lengths, a few padded ones
    want = []
    plain = AutoModelForSequenceClassification.from_pretrained(source).eval()
    with torch.no_grad():
        for seq in seqs:
            logits = plain(**tokenizer([seq], return_tensors="pt")).logits.double()[0]
            want.append(float(logits[1] - logits[0]))
    got = adapter.logit_differences(seqs, batch_size=256)
    assert np.ptp(want) > 1e-3 and np.abs(got - np.array(want)).max() < 1e-6  # outputs that differ
    parts = np.concatenate([adapter.logit_differences(seqs[i:i + 7], batch_size=256) for i in range(0, 60, 7)])
    assert np.array_equal(got, parts) and np.array_equal(got[::-1], adapter.logit_differences(seqs[::-1]))
