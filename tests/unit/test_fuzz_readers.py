"""Fuzzing every input reader with mutated small real-looking files (hypothesis, fixed seed).

Each case starts from a reader's seed file (reader_cases.py) and applies a few mutations: cells
replaced by awkward values (huge, non-finite, empty, non-ASCII, delimiters), deleted and
duplicated columns and rows, swapped delimiters and line ends, then an encoding (UTF-8 with or
without BOM, UTF-16 with or without BOM, Latin-1), optional gzip, and byte-level damage
(truncation, flipped, inserted and deleted bytes). The property (reader_cases.check_property):
an InputError naming the file, or a result whose accounting holds; never another exception,
never a hang.

The bounded run (part of ``make test``) is derandomized: the same ``CASES`` (2,000) files per
reader on every run, and ``WHOLE_COMMAND_CASES`` through prepare-variants and import-predictions.
A longer run with fresh random cases: see docs/testing.md (``REGVARBENCH_FUZZ_CASES``,
``REGVARBENCH_FUZZ_RANDOM``).
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import logging
import math
import os
import random
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from regvarbench.genome import Genome
from regvarbench.variants import standard

from .reader_cases import PropertyViolation, check_property, make_readers, write_genome

CASES = int(os.environ.get("REGVARBENCH_FUZZ_CASES", "2000"))  # per reader
WHOLE_COMMAND_CASES = int(os.environ.get("REGVARBENCH_FUZZ_COMMAND_CASES", "100"))  # prepare / import per format
RANDOM = os.environ.get("REGVARBENCH_FUZZ_RANDOM", "") not in ("", "0")
CASES_PER_EXAMPLE = 4  # files per hypothesis example: the engine's own cost is then shared by four cases
READERS = ["standard", "sure_raqtl", "kircher2019_satmut", "vockley2015_mpra", "ulirsch2016_mpra",
           "birnbaum2014_eexon", "weiss2021_lentimpra", "ld_blocks", "vcf", "ensembl_ld", "ldlink_proxy", "bed",
           "samplesheet", "catalogue", "predictions"]
WHOLE_COMMANDS = [f"prepare:{fmt}" for fmt in READERS[:11]] + ["import:predictions"]

# values a cell may become: numbers beyond float and int64 range, non-finite spellings, missing
# markers, numeric look-alikes Python's float() accepts, delimiters, quotes and non-ASCII text
AWKWARD = ["", " ", "NA", "nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-1e309", "1e-400", "9" * 40,
           "-" + "9" * 25, "9223372036854775808", "1e19", "0", "-0", "-1", "1.5", "2.0", "0x1F", "1_000", "１２",
           " 12 ", '"', '"x', "'", "chr1", "N", "*", ".", "<DEL>", "A,T", "é", "\u00a0", "\ufeff", "\t", ",",
           ";", "#", "#CHROM", "\\N", "true", "yes", "2", "Ref", "Mut", "logits2", "prob", "diff", "standard",
           "vcf", "HepG2", "std", "a" * 300]
DELIMITERS = ["\t", ",", ";", " ", "|"]
ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1"]

TEXT_OPS = ["cell", "cell", "cell", "delete_column", "duplicate_column", "delete_header_cell", "delete_row",
            "duplicate_row", "blank_line", "swap_rows", "delimiter", "line_end", "truncate_text"]
BYTE_OPS = ["truncate", "flip", "insert", "delete"]


def draw_text_op(rng: random.Random) -> tuple:
    """One table-level mutation with its arguments (indices are wrapped when applied)."""
    kind = rng.choice(TEXT_OPS)
    if kind == "cell":
        value = rng.choice(AWKWARD) if rng.random() < 0.8 else "".join(
            chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x3000)])) for _ in range(rng.randrange(1, 6)))
        return kind, rng.randrange(50), rng.randrange(50), value
    if kind == "delimiter":
        return kind, rng.choice(DELIMITERS)
    if kind == "line_end":
        return kind, rng.choice(["\r\n", "\r", "\n\n"])
    return kind, rng.randrange(2000 if kind == "truncate_text" else 50)


def draw_byte_op(rng: random.Random) -> tuple:
    """One byte-level damage with its arguments (positions are wrapped when applied)."""
    kind = rng.choice(BYTE_OPS)
    if kind == "flip":
        return kind, rng.randrange(4000), rng.randrange(256)
    if kind == "insert":
        return kind, rng.randrange(4000), bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5)))
    if kind == "delete":
        return kind, rng.randrange(4000), rng.randrange(1, 9)
    return kind, rng.randrange(4000)


def apply_text_op(lines: list[list[str]], sep: str, end: str, op) -> tuple[list[list[str]], str, str]:
    """One table-level mutation of a file split into lines of fields (indices wrap around)."""
    kind = op[0]
    if not lines:
        return lines, sep, end
    if kind == "cell":
        row = lines[op[1] % len(lines)]
        if row:
            row[op[2] % len(row)] = op[3]
    elif kind in ("delete_column", "duplicate_column"):
        width = max(len(row) for row in lines) or 1
        j = op[1] % width
        for row in lines:
            if j < len(row):
                if kind == "delete_column":
                    del row[j]
                else:
                    row.insert(j, row[j])
    elif kind == "delete_header_cell" and lines[0]:
        del lines[0][op[1] % len(lines[0])]
    elif kind == "delete_row":
        del lines[op[1] % len(lines)]
    elif kind == "duplicate_row":
        i = op[1] % len(lines)
        lines.insert(i, list(lines[i]))
    elif kind == "blank_line":
        lines.insert(op[1] % (len(lines) + 1), [])
    elif kind == "swap_rows" and len(lines) > 1:
        i = op[1] % len(lines)
        j = (i + 1) % len(lines)
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "delimiter":
        sep = op[1]
    elif kind == "line_end":
        end = op[1]
    return lines, sep, end


def apply_byte_op(data: bytes, op) -> bytes:
    """One byte-level damage (positions wrap around the data)."""
    kind, n = op[0], len(data)
    if kind == "truncate":
        return data[:op[1] % (n + 1)]
    if not n:
        return data
    i = op[1] % n
    if kind == "flip":
        return data[:i] + bytes([op[2]]) + data[i + 1:]
    if kind == "insert":
        return data[:i] + op[2] + data[i:]
    return data[:i] + data[i + op[2]:]


def mutate(seed: str, rng: random.Random) -> tuple[bytes, list]:
    """The seed file after a few table-level mutations, an encoding, maybe gzip, maybe byte damage.

    Returns the bytes and the list of what was done (shown when a case breaks the property).
    """
    sep = "\t" if "\t" in seed.splitlines()[0] or seed.startswith("##") else ","
    lines = [line.split(sep) for line in seed.splitlines()]
    end = "\r" if "\r" in seed and "\r\n" not in seed else "\n"
    done: list = []
    truncate_at = None
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
        op = draw_text_op(rng)
        done.append(op)
        if op[0] == "truncate_text":
            truncate_at = op[1]
        else:
            lines, sep, end = apply_text_op(lines, sep, end, op)
    text = end.join(sep.join(row) for row in lines) + end
    if truncate_at is not None:
        text = text[:truncate_at % (len(text) + 1)]
    encoding = rng.choice(ENCODINGS)
    data = codecs.encode(text, encoding, errors="replace")
    done.append(("encoding", encoding))
    if rng.random() < 0.3:
        data = gzip.compress(data, mtime=0)
        done.append(("gzip",))
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
        op = draw_byte_op(rng)
        done.append(op)
        data = apply_byte_op(data, op)
    return data, done


def fuzz_settings(examples: int, **extra) -> settings:
    """Bounded and reproducible: a fixed seed, no example database, no deadline (shared CPUs)."""
    return settings(max_examples=examples, derandomize=not RANDOM, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=True, **extra)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The seeds' folder: in memory (/dev/shm) where there is one, as a case is one file write and
    a disk-backed /tmp can take milliseconds per write; the test's temporary folder otherwise."""
    shm = Path("/dev/shm")
    with (tempfile.TemporaryDirectory(prefix="regvarbench-fuzz-", dir=shm) if shm.is_dir() and os.access(shm, os.W_OK)
          else contextlib.nullcontext(str(tmp_path_factory.mktemp("fuzz")))) as folder, \
            Genome(write_genome(Path(folder))) as genome:
        yield Path(folder), make_readers(Path(folder), genome)


@pytest.fixture(autouse=True)
def quiet_logs():
    """The readers log every skipped row and unmatched dataset; thousands of cases need none of it."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def fuzz(reader, path: Path, cases: int, **extra) -> Counter:
    """Run the property on ``cases`` mutated versions of the reader's seed; outcome counts.

    Hypothesis draws one seed per example (derandomized: the same seeds on every run); the seed
    drives ``CASES_PER_EXAMPLE`` mutated files through ``random.Random``. (Drawing the mutations
    as hypothesis strategies costs about 3 ms a case, more than most readers take, and the
    bounded run has 27,000 cases for 60 s.) A broken case is reported with its seed, the
    mutations applied and the file's first bytes.
    """
    outcomes: Counter = Counter()

    @fuzz_settings(math.ceil(cases / CASES_PER_EXAMPLE), **extra)
    @given(st.integers(0, 2 ** 64 - 1))
    def example(seed: int) -> None:
        rng = random.Random(seed)
        for k in range(CASES_PER_EXAMPLE):
            data, done = mutate(reader.text, rng)
            path.write_bytes(data)
            try:
                outcomes[check_property(reader, path)] += 1
            except PropertyViolation as exc:
                raise PropertyViolation(f"{exc}\ncase {k} of seed {seed}; mutations: {done}\n"
                                        f"file: {data[:600]!r}") from exc

    example()
    return outcomes


@pytest.mark.parametrize("name", READERS)
def test_reader_gives_an_input_error_or_an_accounted_result(name, workspace):
    folder, readers = workspace
    reader = readers[name]
    outcomes = fuzz(reader, folder / f"case-{reader.filename}", CASES)
    assert sum(outcomes.values()) >= CASES, outcomes
    assert outcomes["error"] and outcomes["result"], outcomes  # both sides of the property were reached


@pytest.mark.parametrize("name", WHOLE_COMMANDS)
def test_whole_command_accounts_for_every_row(name, workspace):
    """prepare-variants (tiny genome: contig, range and reference checks) and import-predictions:
    rows in = kept + skipped, on fewer cases (a whole command costs ten times a reader)."""
    folder, readers = workspace
    reader = readers[name]
    outcomes = fuzz(reader, folder / f"case-{reader.filename}", WHOLE_COMMAND_CASES)
    assert sum(outcomes.values()) >= WHOLE_COMMAND_CASES and outcomes["result"], outcomes


def test_every_reader_is_fuzzed(workspace):
    assert sorted(READERS + WHOLE_COMMANDS) == sorted(workspace[1])


def test_the_harness_catches_a_planted_bug(workspace, monkeypatch):
    """A parser that indexes a missing column (KeyError) instead of naming it is reported."""
    folder, readers = workspace
    monkeypatch.setattr(standard, "require_columns", lambda *args, **kwargs: None)
    with pytest.raises(PropertyViolation, match="KeyError instead of InputError"):
        fuzz(readers["standard"], folder / "planted-standard.tsv", 400, phases=[Phase.generate],
             report_multiple_bugs=False)
