"""Hugging Face family: tiny real checkpoints (ESM / Nucleotide-Transformer-like with a 6-mer
tokenizer, BERT / DNABERT-like with a character tokenizer) built offline, fine-tuned with the
Trainer, saved, reloaded through load_model and used to score variant windows."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
from transformers import (AutoConfig, AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification,
                          EsmConfig, EsmForSequenceClassification, EsmTokenizer, PreTrainedTokenizerFast)

from regvarbench import cli
from regvarbench.io import InputError, read_tsv, write_tsv
from regvarbench.models import hf, load_model
from regvarbench.models.unavailable import ModelUnavailableError
from regvarbench.score import read_windows, score_windows

MOTIF = "TGACTCA"
LENGTH = 120


@pytest.fixture
def offline(monkeypatch):
    """Offline hub whatever the order of imports (both libraries read the variable at import time)."""
    import huggingface_hub.constants
    import transformers.utils.hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(transformers.utils.hub, "_is_offline_mode", True)


def synthetic_split(n: int = 96, length: int = LENGTH, seed: int = 0) -> pd.DataFrame:
    """Enhancers carry the motif near the centre, controls are random DNA; splits 2/3, 1/6, 1/6."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, label in enumerate(np.tile([1, 0], n // 2)):
        seq = list("".join(rng.choice(list("ACGT"), length)))
        if label:
            at = length // 2 - 10 + int(rng.integers(0, 14))
            seq[at:at + len(MOTIF)] = MOTIF
        rows.append({"region_id": f"r{i}", "chrom": "chr1", "start": i * 1000, "end": i * 1000 + length,
                     "label": int(label), "cell_line": "HepG2", "sequence": "".join(seq),
                     "split": "train" if i < 2 * n // 3 else ("valid" if i < 5 * n // 6 else "test")})
    return pd.DataFrame(rows)


def variant_windows(n: int = 12, seed: int = 1) -> pd.DataFrame:
    """Windows whose alternative allele is a single-base change at the centre."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        ref = "".join(rng.choice(list("ACGT"), LENGTH))
        centre = LENGTH // 2
        alt = ref[:centre] + ("A" if ref[centre] != "A" else "G") + ref[centre + 1:]
        rows.append({"variant_id": f"toy:{i}", "dataset": "toy", "cell_line": "HepG2", "ref_seq": ref,
                     "alt_seq": alt, "n_padded": 0})
    return pd.DataFrame(rows)


def build_esm_checkpoint(path) -> str:
    """Nucleotide-Transformer-like: EsmTokenizer over non-overlapping 6-mers (+ single bases), rotary ESM."""
    path.mkdir(parents=True)
    kmers = ["".join(p) for p in itertools.product("ACGT", repeat=6)]
    vocab = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", *kmers, "A", "T", "C", "G", "N"]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = EsmTokenizer(vocab_file=str(path / "vocab.txt"))
    config = EsmConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=32, max_position_embeddings=64, position_embedding_type="rotary",
                       pad_token_id=1, mask_token_id=2, token_dropout=False, num_labels=2)
    torch.manual_seed(0)
    EsmForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


CHAR_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "A", "C", "G", "T", "N"]


def char_tokenizer() -> PreTrainedTokenizerFast:
    """Fast character-level WordLevel tokenizer: [CLS] one token per base [SEP], [PAD] = 0."""
    tokens = CHAR_TOKENS
    backend = Tokenizer(models.WordLevel({t: i for i, t in enumerate(tokens)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    backend.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                           special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def build_bert_checkpoint(path, max_positions: int = 64) -> str:
    """DNABERT/GENA-LM-like: a BERT classifier with a fast character-level WordLevel tokenizer."""
    path.mkdir(parents=True)
    tokenizer = char_tokenizer()
    config = BertConfig(vocab_size=len(CHAR_TOKENS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=max_positions, pad_token_id=0, num_labels=2)
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def test_esm_cli_fine_tune_reload_and_score(tmp_path):
    source = build_esm_checkpoint(tmp_path / "nt_tiny_src")
    data = write_tsv(synthetic_split(), tmp_path / "HepG2.split.tsv")
    rc = cli.main(["train", "--family", "hf", "--source", source, "--data", str(data), "--model-name", "nt_tiny",
                   "--epochs", "3", "--patience", "2", "--lr", "1e-3", "--max-tokens", "32", "--threads", "1",
                   "--outdir", str(tmp_path / "out")])
    assert rc == 0
    target = tmp_path / "out" / "nt_tiny__HepG2"
    assert sorted(p.name for p in target.iterdir()) == [
        "checkpoint", "enhancer_detection.tsv", "spec.json", "training_curve.tsv"]
    spec = json.loads((target / "spec.json").read_text())
    assert spec["family"] == "hf" and spec["source"] == source and spec["max_tokens"] == 32
    assert spec["input_length"] == LENGTH and spec["cell_line"] == "HepG2"
    assert spec["training"]["batch_size"] == 8 and spec["training"]["lr"] == 1e-3  # study default, override
    curve = read_tsv(target / "training_curve.tsv")
    assert list(curve.columns) == ["epoch", "train_loss", "valid_loss", "valid_auroc"]
    assert curve["epoch"].tolist() == list(range(1, spec["epochs_run"] + 1)) and curve["train_loss"].notna().all()
    assert spec["best_epoch"] == int(curve.loc[curve["valid_loss"].idxmin(), "epoch"])
    detection = read_tsv(target / "enhancer_detection.tsv")
    assert detection["split"].tolist() == ["valid", "test"] and detection["n"].tolist() == [16, 16]

    adapter = load_model(target)
    assert isinstance(adapter, hf.HFAdapter) and adapter.name == "nt_tiny"
    windows = variant_windows()
    first = score_windows(adapter, windows, batch_size=5)
    assert first["ref_output"].between(0, 1, inclusive="neither").all()
    assert first["alt_output"].between(0, 1, inclusive="neither").all()
    # deterministic, and independent of batch composition and chunking
    again = score_windows(load_model(target), windows.iloc[::-1].reset_index(drop=True), batch_size=8)
    pd.testing.assert_frame_equal(first, again.iloc[::-1].reset_index(drop=True), check_exact=True)
    # fine-tuning changed the network: the source checkpoint predicts something else
    untrained = load_model({"family": "hf", "model_name": "src", "source": source, "max_tokens": 32})
    seqs = windows["ref_seq"].tolist()
    assert not np.allclose(adapter.predict(seqs), untrained.predict(seqs))


def test_bert_fine_tune_crops_saves_and_scores(tmp_path):
    source = build_bert_checkpoint(tmp_path / "bert_src")
    config = hf.HFTrainConfig(model_name="bert_tiny", source=source, max_tokens=64, epochs=3, patience=3,
                              lr=3e-3, seed=3)
    adapter, spec, curve, detection = hf.train_hf(synthetic_split(), config)
    assert len(curve) == 3 and spec["epochs_run"] == 3 and detection["auroc"].notna().all()
    target = hf.save_outputs(tmp_path / "models", adapter, spec, curve, detection)
    # same seed, same weights and tables; another seed, other weights
    again = hf.train_hf(synthetic_split(), config)
    twin = hf.save_outputs(tmp_path / "again", *again)
    for name in ("spec.json", "training_curve.tsv", "enhancer_detection.tsv"):
        assert (target / name).read_bytes() == (twin / name).read_bytes(), name
    a, b = adapter.model.state_dict(), again[0].model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = hf.train_hf(synthetic_split(), hf.HFTrainConfig(**{**config.__dict__, "seed": 4}))[0].model.state_dict()
    assert not all(torch.equal(a[k], other[k]) for k in a)

    windows = variant_windows()
    path = write_tsv(windows, tmp_path / "windows" / "toy.windows.0.tsv")
    assert cli.main(["score", "--model", str(target), "--windows", str(path), "--batch-size", "4",
                     "--outdir", str(tmp_path / "scores")]) == 0
    scores = read_tsv(tmp_path / "scores" / "bert_tiny.toy.0.scores.tsv")
    assert (scores["model"] == "bert_tiny").all() and len(scores) == len(windows)
    assert ((scores["ref_output"] > 0) & (scores["ref_output"] < 1)).all() and np.isfinite(scores["score"]).all()
    # the reloaded model is the trained one: same outputs as the in-memory adapter, to fp32 rounding
    # (batches of 4 against 32 rows block the matrix products differently; AVX-512 and AVX2 differ)
    np.testing.assert_allclose(scores["ref_output"], adapter.predict(windows["ref_seq"].tolist()), rtol=1e-6, atol=0)
    # the central base decides: 120 bp windows are cropped to 62 bp around it, so the variant is seen
    assert (scores["score"] != 0).all()
    assert score_windows(load_model(target), read_windows(path)).equals(score_windows(load_model(target), read_windows(path)))


def test_crop_to_tokens_keeps_the_centre(tmp_path):
    from transformers import AutoTokenizer

    chars = AutoTokenizer.from_pretrained(build_bert_checkpoint(tmp_path / "bert"))
    kmers = AutoTokenizer.from_pretrained(build_esm_checkpoint(tmp_path / "esm"))
    rng = np.random.default_rng(5)
    seq = "".join(rng.choice(list("ACGT"), 1001))
    for tokenizer, max_tokens in ((chars, 64), (chars, 513), (kmers, 40), (kmers, 512)):
        (cropped,) = hf.crop_to_tokens([seq], tokenizer, max_tokens)
        n = len(tokenizer(cropped)["input_ids"])
        assert n <= max_tokens and cropped[len(cropped) // 2] == seq[len(seq) // 2]
        assert cropped in seq and (len(cropped) == len(seq)) == (len(tokenizer(seq)["input_ids"]) <= max_tokens)
    assert len(hf.crop_to_tokens([seq], chars, 64)[0]) == 62  # [CLS] + 62 bases + [SEP]
    assert len(kmers.tokenize("ACGTAC" * 3 + "GA")) == 5  # non-overlapping 6-mers, then single bases


def test_unavailable_weights_raise_input_error(tmp_path, offline):
    with pytest.raises(InputError, match=r"dnabert2.*zhihan1996/DNABERT-2-117M"):
        load_model({"family": "hf", "model_name": "dnabert2", "source": "zhihan1996/DNABERT-2-117M",
                    "trust_remote_code": True})
    data = write_tsv(synthetic_split(n=24), tmp_path / "HepG2.split.tsv")
    base = ["train", "--family", "hf", "--data", str(data), "--model-name", "nt_x", "--outdir", str(tmp_path / "o")]
    assert cli.main(base + ["--source", "InstaDeepAI/nucleotide-transformer-v2-50m-multi-species"]) == 2
    assert cli.main(base) == 2  # --source missing
    assert not (tmp_path / "o").exists()
    # a trained directory that lost its checkpoint
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "spec.json").write_text('{"family": "hf", "model_name": "m", "source": "x"}')
    with pytest.raises(InputError, match="checkpoint not found"):
        load_model(tmp_path / "m")


HYENA_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hyena_tiny"


def build_remote_code_checkpoint(path) -> str:
    """HyenaDNA-like hub layout: config.json with an auto_map naming the checkpoint's own
    configuration_*.py / modeling_*.py (tests/fixtures/hyena_tiny), weights, character tokenizer.
    The weights are initialised through the remote-code path itself (AutoConfig + from_config)."""
    path.mkdir(parents=True)
    for source in HYENA_FIXTURE.glob("*.py"):
        shutil.copy(source, path / source.name)
    config = {"model_type": "hyena_tiny", "architectures": ["HyenaTinyForSequenceClassification"],
              "auto_map": {"AutoConfig": "configuration_hyena_tiny.HyenaTinyConfig",
                           "AutoModelForSequenceClassification": "modeling_hyena_tiny.HyenaTinyForSequenceClassification"},
              "vocab_size": len(CHAR_TOKENS), "d_model": 16, "n_layer": 2, "max_seq_len": 128, "pad_token_id": 0,
              "num_labels": 2}
    (path / "config.json").write_text(json.dumps(config, indent=2))
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(
        AutoConfig.from_pretrained(path, trust_remote_code=True), trust_remote_code=True)
    model.save_pretrained(path)
    char_tokenizer().save_pretrained(path)
    return str(path)


def test_remote_code_checkpoint_fine_tunes_reloads_and_scores(tmp_path, offline):
    source = build_remote_code_checkpoint(tmp_path / "hyena_src")
    remote = load_model({"family": "hf", "model_name": "h", "source": source, "trust_remote_code": True}).model
    assert type(remote).__module__.startswith("transformers_modules.")  # the checkpoint's own code
    with pytest.raises(hf.RemoteCodeRefusedError, match=r"model hyena_x: .* runs only with the modelling code it "
                       r"ships \(AutoConfig, AutoModelForSequenceClassification in its config.json auto_map\)"):
        load_model({"family": "hf", "model_name": "hyena_x", "source": source})  # code not trusted: refused
    assert not issubclass(hf.RemoteCodeRefusedError, ModelUnavailableError)  # --skip-unavailable does not hide it

    data = write_tsv(synthetic_split(), tmp_path / "HepG2.split.tsv")
    assert cli.main(["train", "--family", "hf", "--source", source, "--trust-remote-code", "--data", str(data),
                     "--model-name", "hyena_tiny", "--epochs", "2", "--patience", "2", "--lr", "3e-3",
                     "--max-tokens", "128", "--threads", "1", "--outdir", str(tmp_path / "out")]) == 0
    target = tmp_path / "out" / "hyena_tiny__HepG2"
    spec = json.loads((target / "spec.json").read_text())
    assert spec["trust_remote_code"] is True and spec["epochs_run"] == 2
    # the saved checkpoint carries its modelling code and auto_map, as a hub checkpoint does
    saved = json.loads((target / "checkpoint" / "config.json").read_text())
    assert set(saved["auto_map"]) >= {"AutoConfig", "AutoModelForSequenceClassification"}
    assert (target / "checkpoint" / "modeling_hyena_tiny.py").exists()

    adapter = load_model(target)
    assert type(adapter.model).__name__ == "HyenaTinyForSequenceClassification"
    windows = variant_windows()
    path = write_tsv(windows, tmp_path / "windows" / "toy.windows.0.tsv")
    assert cli.main(["score", "--model", str(target), "--windows", str(path), "--outdir", str(tmp_path / "s")]) == 0
    scores = read_tsv(tmp_path / "s" / "hyena_tiny.toy.0.scores.tsv")
    assert len(scores) == len(windows) and scores["ref_output"].between(0, 1, inclusive="neither").all()
    np.testing.assert_allclose(scores["ref_output"], adapter.predict(windows["ref_seq"].tolist()), rtol=1e-6)
    untrained = load_model({"family": "hf", "model_name": "src", "source": source, "trust_remote_code": True,
                            "max_tokens": 128})
    seqs = windows["ref_seq"].tolist()
    assert not np.allclose(adapter.predict(seqs), untrained.predict(seqs))  # fine-tuning changed it


def test_trainer_precision_flags():
    """Trainer flags follow the concrete training precision (regvarbench.device.resolve_precision, training=True)."""
    from regvarbench.models.hf import _mixed_precision

    assert _mixed_precision("fp32") == {"bf16": False, "fp16": False}
    assert _mixed_precision("bf16") == {"bf16": True, "fp16": False}
    assert _mixed_precision("fp16") == {"bf16": False, "fp16": True}


def test_encode_tokenises_once_and_matches_the_cropping_reference(tmp_path):
    """encode (one tokenizer pass, a second only for sequences over max_tokens) gives the tensors
    of cropping first and tokenising with padding and truncation in one call."""
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), n)) for n in (7, 50, 100, 300, 1000)]
    for source in (build_esm_checkpoint(tmp_path / "esm"), build_bert_checkpoint(tmp_path / "bert")):
        adapter = load_model({"family": "hf", "source": source, "max_tokens": 64, "model_name": "x"})
        got = adapter.encode(seqs)
        want = adapter.tokenizer(hf.crop_to_tokens(seqs, adapter.tokenizer, 64), padding="max_length",
                                 truncation=True, max_length=64, return_tensors="pt")
        assert got.keys() == dict(want).keys()
        for key, value in got.items():
            assert torch.equal(value, want[key]), key


class _Kill(Exception):
    pass


def test_fine_tuning_resumes_after_a_kill(tmp_path, caplog):
    """A run killed after an epoch's checkpoint resumes from it: the same curve and the same model
    as an uninterrupted run; the Trainer's checkpoints are removed once the model is written."""
    from dataclasses import asdict

    from transformers import TrainerCallback

    source = build_esm_checkpoint(tmp_path / "src")
    table = synthetic_split()
    config = hf.HFTrainConfig(model_name="nt_tiny", source=source, max_tokens=32, epochs=3, patience=3,
                              lr=1e-3, seed=0)

    class KillAfterFirstSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step and round(state.epoch) == 1:
                raise _Kill

    whole = hf.train_hf(table, config, trainer_dir=tmp_path / "whole")
    with pytest.raises(_Kill):
        hf.train_hf(table, config, trainer_dir=tmp_path / "cut", callbacks=(KillAfterFirstSave(),))
    assert hf._last_checkpoint(tmp_path / "cut") is not None
    other = hf.HFTrainConfig(**{**asdict(config), "lr": 2e-3})
    with pytest.raises(InputError, match="written for other data or settings"):
        hf.train_hf(table, other, trainer_dir=tmp_path / "cut")
    with caplog.at_level("INFO", logger="regvarbench.models.hf"):
        resumed = hf.train_hf(table, config, trainer_dir=tmp_path / "cut")
    assert "resuming from" in caplog.text and "(after epoch 1)" in caplog.text
    assert sum("epoch 1: train_loss" in r.getMessage() for r in caplog.records) == 0  # epoch 1 not re-run
    assert resumed[2]["epoch"].tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(resumed[2], whole[2], rtol=1e-6)
    pd.testing.assert_frame_equal(resumed[3], whole[3], rtol=1e-6)
    seqs = table["sequence"].tolist()[:8]
    np.testing.assert_allclose(resumed[0].predict(seqs), whole[0].predict(seqs), rtol=1e-6)

    data = write_tsv(table, tmp_path / "HepG2.split.tsv")
    assert cli.main(["train", "--family", "hf", "--source", source, "--data", str(data), "--model-name", "nt_tiny",
                     "--epochs", "1", "--max-tokens", "32", "--outdir", str(tmp_path / "out")]) == 0
    assert not (tmp_path / "out" / "nt_tiny__HepG2" / "trainer").exists()
