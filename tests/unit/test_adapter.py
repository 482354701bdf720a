"""The Adapter base class: every family's adapter subclasses it and keeps the promises of its flags."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pandas as pd
import pytest

from regvarbench import score
from regvarbench.models import FAMILIES, Adapter, load_model
from regvarbench.models.base import check_capabilities, missing_capabilities
from regvarbench.models.probe import ProbeAdapter


def family_adapter_classes() -> dict[str, type]:
    """Every class named ``*Adapter`` that a family module (or models.probe) defines itself."""
    found = {}
    for module_name in sorted(set(FAMILIES.values())) + ["regvarbench.models.probe"]:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and name.endswith("Adapter") and obj.__module__ == module.__name__:
                found[f"{module_name}.{name}"] = obj
    return found


def test_every_family_has_an_adapter_class_subclassing_the_base():
    classes = family_adapter_classes()
    modules = {name.rsplit(".", 1)[0] for name in classes}
    assert modules == set(FAMILIES.values()) | {"regvarbench.models.probe"}
    for name, cls in classes.items():
        assert issubclass(cls, Adapter), name


@pytest.mark.parametrize("name", sorted(family_adapter_classes()))
def test_adapter_classes_keep_the_promises_of_their_flags(name):
    cls = family_adapter_classes()[name]
    assert missing_capabilities(cls) == []
    assert cls.predict is not Adapter.predict


def test_capability_table_of_the_published_families():
    classes = {name.rsplit(".", 1)[1]: cls for name, cls in family_adapter_classes().items()}
    assert {n for n, c in classes.items() if c.uses_genome_context} == {"TrackAdapter", "TREDNetAdapter", "SeiAdapter"}
    assert {n for n, c in classes.items() if c.supports_cone} == {"SeiAdapter"}  # the cnn sets it per network
    overrides = {n for n, c in classes.items() if c.set_precision is not Adapter.set_precision}
    assert overrides == {"CNNAdapter", "TREDNetAdapter", "SeiAdapter"}


class _Constant(Adapter):
    def __init__(self) -> None:
        self.name, self.spec = "constant", {"family": "test", "score_kind": "diff"}

    def predict(self, seqs, batch_size=None):
        return np.array([s.count("A") for s in seqs], dtype=np.float64)


def test_a_planted_adapter_that_breaks_a_promise_is_refused():
    class ClaimsContext(_Constant):
        uses_genome_context = True

    class ClaimsCone(_Constant):
        supports_cone = True

    class ClaimsBoth(_Constant):
        uses_genome_context = supports_cone = True

        def predict_in_context(self, seqs, loci, genome, batch_size=None):
            return self.predict(seqs)

        def predict_variants(self, ref_seqs, ref_index, alt_seqs, batch_size=None):
            return self.predict(ref_seqs), self.predict(alt_seqs)

    assert missing_capabilities(ClaimsContext) == ["predict_in_context"]
    assert missing_capabilities(ClaimsCone) == ["predict_variants"]
    assert missing_capabilities(ClaimsBoth) == ["predict_variants_in_context"]
    with pytest.raises(TypeError, match="ClaimsCone sets capability flags without defining predict_variants"):
        check_capabilities(ClaimsCone())
    with pytest.raises(TypeError, match="is not a regvarbench.models.Adapter"):
        check_capabilities(object())
    plain = _Constant()
    assert check_capabilities(plain) is plain


def test_an_adapter_without_predict_cannot_be_made():
    class NoPredict(Adapter):
        name, spec = "none", {}

    with pytest.raises(TypeError, match="abstract"):
        NoPredict()


def test_instance_flags_are_what_is_checked():
    adapter = _Constant()
    adapter.supports_cone = True  # set on the instance, as CNNAdapter does per network
    assert missing_capabilities(adapter) == ["predict_variants"]
    assert missing_capabilities(type(adapter)) == []


def test_defaults_describe_an_adapter_without_capabilities():
    adapter = _Constant()
    assert not adapter.uses_genome_context and not adapter.supports_cone
    assert dict(adapter.last_variant_counts) == {} and adapter.tokenizer is None and adapter.model is None
    assert adapter.set_precision("fp32") is None
    with pytest.raises(TypeError):
        adapter.last_variant_counts["cone"] = 1  # the shared default is read-only
    for call in (lambda: adapter.predict_in_context(["A"], [("chr1", 0, "+")], None),
                 lambda: adapter.predict_variants(["A"], np.zeros(1, dtype=int), ["C"]),
                 lambda: adapter.encode(["A"])):
        with pytest.raises(NotImplementedError, match="_Constant"):
            call()


def test_scoring_a_base_adapter_takes_the_plain_path(caplog):
    windows = pd.DataFrame({"variant_id": ["v1", "v2"], "dataset": "d", "cell_line": "c",
                            "ref_seq": ["AAAC", "CCCC"], "alt_seq": ["AAAA", "CCCA"], "n_padded": 0})
    out = score.score_windows(_Constant(), windows, batch_size=8, cone=True)
    assert out["score"].tolist() == [1.0, 1.0]  # diff: one more A in each alt
    with caplog.at_level("WARNING"):
        assert score.set_precision(_Constant(), "fp32") == "model default"
    assert "--precision fp32 ignored" in caplog.text


def test_load_model_checks_what_it_returns():
    spec = {"family": "cnn", "architecture": "cnn_small", "model_name": "m", "seed": 0, "input_length": 200}
    adapter = load_model(spec)
    assert isinstance(adapter, Adapter) and adapter.supports_cone and missing_capabilities(adapter) == []
    probe = {"mean": [0.0], "scale": [1.0], "coef": [0.0], "intercept": 0.0}
    wrapped = load_model({**spec, "probe": probe})
    assert isinstance(wrapped, ProbeAdapter) and not wrapped.supports_cone
