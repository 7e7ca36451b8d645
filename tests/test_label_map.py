"""label_map.pbtxt: the tables the OD API decoder builds, and what load_labelmap refuses."""

from __future__ import annotations

import pytest

from tfod_doctor.config import parse_label_map, read_label_map
from tfod_doctor.errors import UserError


def _rules(text: str) -> list[tuple[str, int | None]]:
    _, findings = parse_label_map(text, "lm.pbtxt")
    return [(f.rule, f.location.line) for f in findings]


def test_table_is_what_the_decoder_looks_up():
    text = ("item { id: 1 name: 'cat' display_name: 'Cat' }\n"
            "item { id: 2 name: 'dog' }\n"
            "item { id: 3 name: 'dog' }\n")
    label_map, findings = parse_label_map(text, "lm.pbtxt")
    table = label_map.table()
    assert table.lookup("dog") == 3  # the last id wins for a repeated name
    assert table.lookup("Cat") == 1  # display names are looked up too
    assert table.lookup("cow") == -1
    assert [f.rule for f in findings] == ["M006"]
    assert findings[0].location.line == 3


def test_background_may_have_id_zero():
    assert _rules("item { id: 0 name: 'background' }\nitem { id: 1 name: 'cat' }\n") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("item { name: 'cat' }\n", [("M003", 1)]),
    ("item { id: 0 name: 'cat' }\n", [("M003", 1)]),
    ("item { id: -2 name: 'cat' }\nitem { id: 1 name: 'dog' }\n", [("M004", 1)]),
    ("item { id: 1 name: 'cat' }\nitem { id: 1 name: 'dog' }\n", [("M005", 2)]),
    ("item { id: 1 name: 'cat' }\nitem { id: 3 name: 'dog' }\n", [("M008", 2)]),
    ("", [("M002", 1)]),
    ("item { id: 1 name: 'cat' name: 'dog' }\n", [("M011", 1)]),
    ("item { id: 1 name: 'p' keypoints { id: 0 label: 'a' }\n keypoints { id: 0 label: 'b' } }\n",
     [("M010", 2)]),
])
def test_label_map_rules(text, expected):
    assert _rules(text) == expected


def test_missing_id_message_says_it_defaults_to_zero():
    _, findings = parse_label_map("item {\n  name: 'cat'\n}\n", "lm.pbtxt")
    assert "has no id, so its id is 0" in findings[0].message
    assert findings[0].evidence["tensorflow"].startswith("ValueError: Label map id 0")


def test_nested_item_gets_a_missing_brace_hint():
    text = "item {\n  id: 1\n  name: 'cat'\nitem {\n  id: 2\n  name: 'dog'\n}\n}\n"
    _, findings = parse_label_map(text, "lm.pbtxt")
    (nested,) = [f for f in findings if f.rule == "M001"]
    assert nested.location.line == 4
    assert "closing } of the item before line 4 is missing" in nested.hint


def test_ids_above_num_classes():
    label_map, _ = parse_label_map("item { id: 1 name: 'a' }\nitem { id: 5 name: 'b' }\n", "x")
    (above,) = label_map.above(3)
    assert above.rule == "M009" and above.location.line == 2


def test_read_label_map_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read the label map"):
        read_label_map(tmp_path / "nope.pbtxt")
