"""The bins file: parts to chute positions, one reject bin, every mistake named."""
from pathlib import Path

import pytest

from device.sort.bins_config import BinsConfigError, bins_config_from_dict, load_bins_config

EXAMPLE = Path(__file__).resolve().parents[1] / "device" / "examples" / "bins.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bins.toml"
    path.write_text(text)
    return path


def test_example_file_loads_and_fits_the_example_rigs_eight_position_chute():
    config = load_bins_config(EXAMPLE, chute_positions=8)
    assert config.reject_bin == 7
    assert config.bin_for("3001") == 1
    assert config.bin_for("32064") == 0 and config.bin_for("2456") == 5
    assert config.bin_for(None) == 7
    with pytest.raises(BinsConfigError, match="bin index 7 does not exist"):
        load_bins_config(EXAMPLE, chute_positions=6)


def test_unlisted_part_goes_to_reject_unless_an_unmapped_bin_is_given(tmp_path):
    base = 'reject_bin = 0\n[[bin]]\nindex = 1\nparts = ["3001"]\n'
    assert load_bins_config(write(tmp_path, base)).bin_for("3002") == 0
    config = load_bins_config(write(tmp_path, 'unmapped = 2\n' + base))
    assert config.bin_for("3002") == 2
    assert config.indices == [0, 1, 2]


def test_bin_names_default_and_reject_is_called_reject(tmp_path):
    config = load_bins_config(write(tmp_path, 'reject_bin = 3\n[[bin]]\nindex = 1\nparts = ["3001"]\n'))
    assert config.bin_name(3) == "reject"
    assert config.bin_name(1) == "bin 1"


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[bin]]\nindex = 1\nparts = ["3001"]\n', "reject_bin is missing"),
        ('reject_bin = "zero"\n[[bin]]\nindex = 1\nparts = ["3001"]\n', "reject_bin must be an integer"),
        ("reject_bin = 0\n", r"at least one \[\[bin\]\]"),
        ('reject_bin = 0\n[[bin]]\nparts = ["3001"]\n', r"bin\[0\].index is missing"),
        ('reject_bin = 0\n[[bin]]\nindex = -1\nparts = ["3001"]\n', r"bin\[0\].index must be >= 0"),
        ("reject_bin = 0\n[[bin]]\nindex = 1\nparts = []\n", r"bin\[0\].parts must be a non-empty list"),
        ('reject_bin = 0\n[[bin]]\nindex = 1\nparts = [3001]\n', "part ids must be strings"),
        ('reject_bin = 0\n[[bin]]\nindex = 1\nparts = ["../x"]\n', r"bin\[0\].parts: part id '../x'"),
        ('reject_bin = 0\n[[bin]]\nindex = 0\nparts = ["3001"]\n', "bin index 0 is also the reject_bin"),
        ('reject_bin = 0\n[[bin]]\nindex = 1\nparts = ["3001"]\n[[bin]]\nindex = 1\nparts = ["3002"]\n',
         "bin index 1 is listed twice"),
        ('reject_bin = 0\n[[bin]]\nindex = 1\nparts = ["3001"]\n[[bin]]\nindex = 2\nparts = ["3001"]\n',
         "part '3001' is in bin 1 and bin 2"),
        ('reject_bin = 0\nunmapped = "keep"\n[[bin]]\nindex = 1\nparts = ["3001"]\n', "unmapped must be"),
        ('reject_bin = 0\nbins = 3\n[[bin]]\nindex = 1\nparts = ["3001"]\n', r"unknown field\(s\) \['bins'\]"),
        ('reject_bin = 0\n[[bin]]\nindex = 1\nparts = ["3001"]\ncolour = "red"\n', r"bin\[0\] has unknown field"),
        ("reject_bin = 0\n[[bin]\n", "not valid TOML"),
    ],
)
def test_bad_files_are_refused_with_the_field_named(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(BinsConfigError, match=message) as info:
        load_bins_config(path)
    assert str(path) in str(info.value)


def test_bin_beyond_the_rigs_chute_positions_is_refused(tmp_path):
    path = write(tmp_path, 'reject_bin = 0\n[[bin]]\nindex = 5\nparts = ["3001"]\n')
    with pytest.raises(BinsConfigError, match=r"bin index 5 does not exist: the rig's chute has 4 positions \(0..3\)"):
        load_bins_config(path, chute_positions=4)
    assert load_bins_config(path, chute_positions=6).bin_for("3001") == 5


def test_missing_file_is_an_os_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        load_bins_config(tmp_path / "nope.toml")


def test_parts_unknown_to_the_model_and_labels_without_a_bin_are_reported():
    config = bins_config_from_dict({"reject_bin": 0, "bin": [{"index": 1, "parts": ["3001", "3O01"]}]})
    assert config.unknown_parts(["3001", "3002"]) == ["3O01"]
    assert config.unmapped_labels(["3001", "3002"]) == ["3002"]


def test_parts_sharing_a_bin_pool_their_probability_so_an_unsure_part_can_still_have_a_sure_bin():
    bins = bins_config_from_dict(
        {"reject_bin": 0, "bin": [{"index": 1, "parts": ["3001", "3003"]}, {"index": 2, "parts": ["3004"]}]}
    )
    labels = ["3001", "3003", "3004", "3039"]  # 3039 is in no bin: unmapped goes to the reject bin

    assert bins.choose_bin([0.45, 0.45, 0.05, 0.05], labels, 0.8) == (1, pytest.approx(0.9))
    assert bins.choose_bin([0.05, 0.05, 0.85, 0.05], labels, 0.8) == (2, pytest.approx(0.85))
    assert bins.choose_bin([0.3, 0.1, 0.5, 0.1], labels, 0.8) == (0, pytest.approx(0.5))  # unsure of every bin
    assert bins.choose_bin([0.0, 0.0, 0.1, 0.9], labels, 0.8)[0] == 0  # sure, but of a part with no bin
    with pytest.raises(ValueError, match="3 probabilities for 4 labels"):
        bins.choose_bin([0.2, 0.3, 0.5], labels, 0.8)
