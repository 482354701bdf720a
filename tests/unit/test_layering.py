"""The package's imports point down the layer table of ARCHITECTURE.md, at module level, without cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from .layering import cycles, imports_of, layer_of, module_names, problems, read_layers

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "regvarbench"
LAYERS = read_layers((ROOT / "ARCHITECTURE.md").read_text())


def test_the_package_follows_its_layers():
    assert problems("regvarbench", PACKAGE, LAYERS) == []


def test_the_layer_table_names_only_modules_that_exist():
    names = {name or "__init__" for name in module_names(PACKAGE)}
    for layer in LAYERS:
        for word in layer:
            if word.endswith(".*"):
                assert any(n.startswith(word[:-1]) for n in names), word
            else:
                assert word in names, f"{word}: in ARCHITECTURE.md's layer table but not a module"


def test_no_function_level_import_of_our_own_modules():
    edges = imports_of("regvarbench", PACKAGE)
    assert len(edges) > 100  # the walk sees the package
    assert [e for e in edges if not e.module_level] == []


def plant(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


TOY_LAYERS = [["__init__", "low"], ["mid", "sub.*"], ["sub", "high"]]
TOY = {"__init__.py": "", "low.py": "X = 1\n", "mid.py": "from .low import X\n",
       "sub/__init__.py": "from . import leaf\n", "sub/leaf.py": "from ..mid import X\n",
       "high.py": "import pkg.sub\nfrom pkg import mid\nfrom .sub import leaf\n"}


def test_checker_passes_a_clean_package(tmp_path):
    root = plant(tmp_path, TOY)
    assert problems("pkg", root, TOY_LAYERS) == []
    edges = {(e.module, e.target) for e in imports_of("pkg", root)}
    assert edges == {("mid", "low"), ("sub", "sub.leaf"), ("sub.leaf", "mid"), ("high", "sub"), ("high", "mid"),
                     ("high", "sub.leaf")}


def test_checker_flags_an_upward_import(tmp_path):
    root = plant(tmp_path, {**TOY, "low.py": "from .mid import Y\nX = 1\n", "mid.py": "Y = 2\n"})
    found = problems("pkg", root, TOY_LAYERS)
    assert len(found) == 1 and "upward import: pkg.low (layer 0) imports pkg.mid (layer 1)" in found[0]
    assert found[0].startswith("pkg/low.py:1:")


@pytest.mark.parametrize("body", ["def f():\n    from .high import Z\n    return Z\n",
                                  "class C:\n    def m(self):\n        import pkg.high\n",
                                  "def f():\n    from . import high\n"])
def test_checker_flags_a_function_level_import(tmp_path, body):
    root = plant(tmp_path, {**TOY, "low.py": "X = 1\n" + body, "high.py": "Z = 3\n"})
    found = problems("pkg", root, TOY_LAYERS)
    assert any("function-level import of pkg.high in pkg.low" in p for p in found), found
    assert any("upward import" in p for p in found)  # and it points up as well


def test_checker_flags_a_cycle_and_an_unplaced_module(tmp_path):
    root = plant(tmp_path, {**TOY, "mid.py": "from . import other\n", "other.py": "from . import mid\n"})
    layers = [["__init__", "low"], ["mid", "other", "sub.*"], ["sub", "high"]]
    found = problems("pkg", root, layers)
    assert found == ["import cycle: pkg.mid -> pkg.other -> pkg.mid"]
    assert problems("pkg", root, TOY_LAYERS) == ["pkg.other: not in the layer table",
                                                 "import cycle: pkg.mid -> pkg.other -> pkg.mid"]


def test_cycles_finds_a_longer_loop(tmp_path):
    root = plant(tmp_path, {"__init__.py": "", "a.py": "from . import b\n", "b.py": "from . import c\n",
                            "c.py": "from . import a\n", "d.py": "from . import a\n"})
    assert cycles(imports_of("pkg", root)) == [["a", "b", "c", "a"]]


def test_read_layers_and_patterns():
    layers = read_layers("text\n```layers\n0  __init__ io   # base\n1  models models.*\n```\nmore ```layers\n")
    assert layers == [["__init__", "io"], ["models", "models.*"]]
    find = layer_of(layers)
    assert (find(""), find("io"), find("models"), find("models.cnn"), find("other")) == (0, 0, 1, 1, None)
