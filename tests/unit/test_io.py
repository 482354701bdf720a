"""Every reader either returns a table or raises InputError naming the file (issue 21, item 1).

Each defect is tested through every reader that has it: the nine variant formats (through
prepare-variants), the BED/peak reader, the datasets samplesheet, the model catalogue and the
predictions importer (reader_cases.py).
"""

from __future__ import annotations

import codecs
import gzip
import io
import logging
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regvarbench import io as rio
from regvarbench import predictions
from regvarbench.genome import Genome
from regvarbench.io import InputError, open_text, read_tsv
from regvarbench.regions import read_bed
from regvarbench.variants import get_parser
from regvarbench.variants.prepare import DatasetSpec, check_spec, read_samplesheet

from .reader_cases import PREDICTIONS_SAMPLE, VARIANTS_FOR_PREDICTIONS, check_property, make_readers, write_genome

READERS = ["standard", "sure_raqtl", "kircher2019_satmut", "vockley2015_mpra", "ulirsch2016_mpra",
           "birnbaum2014_eexon", "weiss2021_lentimpra", "ld_blocks", "vcf", "bed", "samplesheet", "catalogue",
           "predictions"]


@pytest.fixture
def readers(tmp_path: Path):
    logging.disable(logging.WARNING)
    with Genome(write_genome(tmp_path)) as genome:
        readers = make_readers(tmp_path, genome)
        yield {name: readers.get(f"prepare:{name}", readers.get(f"import:{name}", reader))
               for name, reader in readers.items()}
    logging.disable(logging.NOTSET)


def case(tmp_path: Path, reader, data: bytes) -> Path:
    path = tmp_path / f"case-{reader.filename}"
    path.write_bytes(data)
    return path


def seed_bytes(reader) -> bytes:
    return reader.text.encode()


def comparable(result):
    """What two reads of the same content must agree on (tables as CSV text: NaN equals NaN)."""
    def text(frame: pd.DataFrame) -> str:
        return frame.to_csv(index=False)

    if hasattr(result, "variants"):
        return text(result.variants), text(result.skipped), text(result.summary)
    if isinstance(result, list):  # samplesheet specs
        return [(s.dataset, s.format, s.path.name) for s in result]
    if isinstance(result, pd.DataFrame):
        return text(result)
    if isinstance(result[0], dict):  # predictions: score tables and the report
        return sorted((k, text(v)) for k, v in result[0].items()), text(result[1])
    return text(result[0]), result[1]  # catalogue meta and pairs


def input_error(reader, path: Path) -> str:
    with pytest.raises(InputError) as err:
        reader.read(path)
    assert str(path) in str(err.value)
    return str(err.value)


# ---------------------------------------------------------------- compression and encodings


@pytest.mark.parametrize("name", READERS)
def test_truncated_gzip_is_an_input_error(tmp_path, readers, name):
    """A download cut short: was EOFError (Compressed file ended before the end-of-stream marker)."""
    data = gzip.compress(seed_bytes(readers[name]), mtime=0)
    path = case(tmp_path, readers[name], data[:len(data) // 2])
    assert "gzip data is truncated or corrupt" in input_error(readers[name], path)
    path.write_bytes(data[:-4] + b"\0\0\0\0")  # the length trailer damaged
    assert "gzip data is truncated or corrupt" in input_error(readers[name], path)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16-le-bom", "utf-16-be-bom", "gzip-utf-16"])
@pytest.mark.parametrize("name", READERS)
def test_utf8_bom_and_utf16_with_bom_read_like_utf8(tmp_path, readers, name, encoding):
    """UTF-16 with a byte-order mark (spreadsheet exports) was a UnicodeDecodeError (byte 0xff)."""
    reader = readers[name]
    text = reader.text.removeprefix("\ufeff")
    plain = comparable(reader.read(case(tmp_path, reader, text.encode())))
    data = {"utf-8-sig": codecs.BOM_UTF8 + text.encode(),
            "utf-16-le-bom": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
            "utf-16-be-bom": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
            "gzip-utf-16": gzip.compress(text.encode("utf-16"), mtime=0)}[encoding]
    path = case(tmp_path, reader, data)
    assert check_property(reader, path) == "result"
    assert comparable(reader.read(path)) == plain


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("sheet1.xml", "<sheet/>")
    return buffer.getvalue()


BINARY = {
    "random": np.random.default_rng(3).integers(0, 256, 3000, dtype=np.uint8).tobytes(),
    "0xbb": b"\xbb\x01\x02binary\xfe\xfa",
    "utf-16-no-bom": "chrom\tpos\n".encode("utf-16-le"),
    "latin-1": "chrom\tpos\tref\talt\teffect_log2\nchr1\t5\tA\tC\t1\n# Müller\n".encode("latin-1"),
    "zip": _zip_bytes(),
}


@pytest.mark.parametrize("kind", list(BINARY))
@pytest.mark.parametrize("name", READERS)
def test_binary_content_is_not_a_text_file(tmp_path, readers, name, kind):
    """Was UnicodeDecodeError (byte 0xbb), or a NUL-laden table."""
    message = input_error(readers[name], case(tmp_path, readers[name], BINARY[kind]))
    assert "not a text file" in message
    if kind == "latin-1":
        assert "line 3" in message and "0xfc" in message
    if kind == "zip":
        assert "zip archive" in message


def test_decoding_error_names_the_line_far_into_a_gzipped_file(tmp_path):
    body = "".join(f"chr1\t{i}\tA\tC\t0.5\n" for i in range(1, 30000))
    path = tmp_path / "big.tsv.gz"
    path.write_bytes(gzip.compress(("chrom\tpos\tref\talt\teffect_log2\n" + body).encode() + b"chr1\t1\t\xe9\n"))
    with pytest.raises(InputError, match=r"\(gzip\) line 30001: not a text file: byte 0xe9"):
        get_parser("standard").parse(path)


def test_open_text_reads_like_a_text_file(tmp_path):
    """Line ends (LF, CRLF, CR, mixed, across chunk borders) and sized reads as io.TextIOWrapper gives them."""
    text = "a\tb\r\n" + "x" * 70000 + "\r\r\nlast\rline"
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode())
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    with open_text(path) as fh:
        assert fh.read() == expected
    with open_text(path) as fh:
        assert list(fh) == expected.splitlines(keepends=True)
    with open_text(path) as fh:
        assert fh.readline(2) == "a\t" and fh.read(3) == "b\nx" and fh.readline() == "x" * 69999 + "\n"
        assert fh.read(0) == "" and fh.read() == "\nlast\nline" and fh.read() == "" and fh.readline() == ""
    assert fh.closed


# ---------------------------------------------------------------- files that are no files


@pytest.mark.parametrize("name", READERS)
def test_directory_is_named_as_a_directory(tmp_path, readers, name):
    """Was 'file not found' (or 'variant file not found' in a samplesheet)."""
    folder = tmp_path / f"case-{readers[name].filename}"
    folder.mkdir()
    assert "is a directory" in input_error(readers[name], folder)


def test_samplesheet_and_command_line_name_a_directory_given_as_variant_file(tmp_path):
    (tmp_path / "folder.tsv").mkdir()
    sheet = tmp_path / "datasets.csv"
    sheet.write_text("dataset,cell_line,format,path,genome_build\nds,HepG2,standard,folder.tsv,hg19\n")
    with pytest.raises(InputError, match=r"datasets.csv row 1: variant file .*folder.tsv is a directory"):
        read_samplesheet(sheet)
    with pytest.raises(InputError, match="command line: variant file .*folder.tsv is a directory"):
        check_spec(DatasetSpec("ds", "HepG2", "standard", tmp_path / "folder.tsv"), "command line")
    with pytest.raises(InputError, match="command line: variant file not found"):
        check_spec(DatasetSpec("ds", "HepG2", "standard", tmp_path / "absent.tsv"), "command line")


@pytest.mark.parametrize("name", READERS)
def test_unreadable_file_is_an_input_error(tmp_path, readers, name, monkeypatch):
    """Permission denied (simulated: the tests may run as root, who reads everything)."""
    path = case(tmp_path, readers[name], seed_bytes(readers[name]))

    def denied(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return open(file, *args, **kwargs)

    monkeypatch.setattr(rio, "open", denied, raising=False)
    assert "cannot open: Permission denied" in input_error(readers[name], path)


# ---------------------------------------------------------------- what the fuzzer found, and the column list


def test_missing_column_message_lists_only_the_files_columns(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("chrom\tpos\tref\tal\teffect_log2\nchr1\t5\tA\tC\t1\n")
    with pytest.raises(InputError, match="missing column") as err:
        get_parser("standard").parse(path)
    assert "_malformed" not in str(err.value) and "'effect_log2'" in str(err.value)


def test_reserved_column_name_in_a_source_file_is_an_error(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("chrom\tpos\tref\talt\teffect_log2\t_malformed\nchr1\t5\tA\tC\t1\tno\n")
    with pytest.raises(InputError, match="reserved column name '_malformed'"):
        get_parser("standard").parse(path)


@pytest.mark.parametrize("pos", ["9" * 30, "1e19", "-1e300", "9223372036854775808"])
def test_positions_beyond_int64_are_malformed_rows(tmp_path, pos):
    """Was OverflowError / TypeError from the Int64 conversion."""
    path = tmp_path / "s.tsv"
    path.write_text(f"chrom\tpos\tref\talt\teffect_log2\nchr1\t{pos}\tA\tC\t1\nchr1\t7\tA\tC\t1\n")
    parsed = get_parser("standard").parse(path)
    assert parsed["skip_reason"].tolist() == ["malformed_row", ""]
    assert parsed["skip_detail"].iloc[0] == "unreadable pos" and parsed["pos"].iloc[1] == 7


def test_bed_coordinates_beyond_int64(tmp_path):
    """Was OverflowError: Python int too large to convert to C long."""
    path = tmp_path / "p.bed"
    path.write_text("chr1\t0\t10\n" + "chr1\t0\t" + "9" * 30 + "\n")
    with pytest.raises(InputError, match=r"p.bed line 2: .*too large"):
        read_bed(path)
    path.write_text("chr1\t0\t10\t.\t0\t.\t1.5\t-1\t-1\t" + "9" * 30 + "\n")
    assert read_bed(path)["summit"].tolist() == [-1]  # an unusable summit: the midpoint is used


def test_samplesheet_row_with_more_fields_than_the_header_is_an_error(tmp_path):
    """pandas took the first column as an index and shifted the others: 'unknown variant format 'a.tsv''."""
    (tmp_path / "a.tsv").write_text("chrom\tpos\tref\talt\teffect_log2\n")
    sheet = tmp_path / "datasets.csv"
    sheet.write_text("dataset,cell_line,format,path,genome_build\nds,HepG2,standard,a.tsv,hg19,extra\n")
    with pytest.raises(InputError, match=r"datasets.csv: some rows have more fields than the header"):
        read_samplesheet(sheet)


def test_table_row_with_more_fields_than_the_header_is_an_error(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1\t2\t3\n")
    with pytest.raises(InputError, match=r"t.tsv: some rows have more fields than the header"):
        read_tsv(path)
    path.write_text("a\tb\n1\t2\n1\t2\t3\n")
    with pytest.raises(InputError, match=r"t.tsv: cannot be read as a tab-separated table: .*line 3"):
        read_tsv(path)


@pytest.mark.parametrize("column,value,why", [("pos", "inf", "not a whole number"), ("pos", "5.5", "not a whole number"),
                                              ("pos", "1e30", "not a whole number"), ("row", "1e30", "not a whole number"),
                                              ("row", "-1", "negative")])
def test_prediction_positions_and_rows_must_be_whole_numbers(tmp_path, column, value, why):
    """Were IntCastingNaNError / TypeError, or 5.5 silently read as 5."""
    lines = PREDICTIONS_SAMPLE[1].split("\n")
    fields = lines[1].split("\t")
    fields[lines[0].split("\t").index(column)] = value
    path = tmp_path / "p.tsv"
    path.write_text("\n".join([lines[0], "\t".join(fields), *lines[2:]]))
    variants = predictions.read_variants([rio.write_tsv(VARIANTS_FOR_PREDICTIONS, tmp_path / "v.tsv")])
    with pytest.raises(InputError, match=rf"p.tsv line 2: column '{column}' .*{why}"):
        predictions.import_predictions([path], variants)


def test_overlong_quoted_field_is_an_input_error(tmp_path):
    """An unclosed quote swallowing the rest of a file was _csv.Error: field larger than field limit."""
    path = tmp_path / "SORT1.csv"
    path.write_text("Chromosome,Position,Ref,Alt,VariantExpressionEffect (log2),P-value\n1,5,A,C,0.1,0.2\n"
                    '1,6,"A' + "x" * 200000 + "\n")
    with pytest.raises(InputError, match=r"SORT1.csv line 3: .*field larger than"):
        get_parser("kircher2019_satmut").parse(path)


# ---------------------------------------------------------------- atomic writes


def test_atomic_path_leaves_the_old_file_or_the_new_one(tmp_path):
    target = tmp_path / "sub" / "stamp.txt"
    rio.write_text_atomic(target, "one")
    with pytest.raises(RuntimeError), rio.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "one" and [p.name for p in target.parent.iterdir()] == ["stamp.txt"]
    rio.write_text_atomic(target, "two")
    assert target.read_text() == "two" and [p.name for p in target.parent.iterdir()] == ["stamp.txt"]


# ---------------------------------------------------------------- found by the fuzz harness


def test_weiss_table_without_data_rows_parses_to_nothing(tmp_path):
    """Was TypeError: ufunc 'bitwise_and' not supported (an empty list made a float array)."""
    path = tmp_path / "weiss.tsv"
    path.write_text("Chromosome\tCentral variant position (hg19)\tArchaic sequence sequence\tModern sequence sequence\t"
                    "Differential activity log2(fold-change) - modern vs archaic - NPC\t"
                    "Differential activity P-value - NPC\n")
    assert len(get_parser("weiss2021_lentimpra").parse(path)) == 0


def test_samplesheet_errors_name_the_samplesheet(tmp_path):
    """An unknown format was reported without the samplesheet; a path too long for the file
    system was OSError: [Errno 36] File name too long."""
    sheet = tmp_path / "datasets.csv"
    sheet.write_text("dataset,cell_line,format,path,genome_build\nds,HepG2,NA,a.tsv,hg19\n")
    with pytest.raises(InputError, match=r"datasets.csv row 1: unknown variant format 'NA'"):
        read_samplesheet(sheet)
    sheet.write_text("dataset,cell_line,format,path,genome_build\nds,HepG2,standard," + "a" * 300 + ",hg19\n")
    with pytest.raises(InputError, match=r"datasets.csv row 1: variant file .*File name too long"):
        read_samplesheet(sheet)
    with pytest.raises(InputError, match="cannot open: File name too long"):
        open_text(tmp_path / ("b" * 300))
