"""YAML files → documents with lines: the formats people really commit, and broken ones."""

from __future__ import annotations

import pytest

from gitkube import errors
from gitkube.source import yamlload

from .source_helpers import CORPUS

NESTED = """\
# a leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    example.com/owner: team-a
spec:
  template:
    spec:
      containers:
        - name: main
          image: busybox
          resources:
            limits:
              cpu: 500m
        - name: side
          image: busybox
"""


def load(text: str | bytes, path: str = "f.yaml") -> list[yamlload.Document]:
    return yamlload.load_documents(text, path)


def problems_of(text: str | bytes, path: str = "f.yaml") -> list[str]:
    _, problems = yamlload.parse_documents(text, path)
    return [str(p) for p in problems]


@pytest.mark.parametrize(
    ("field", "line"),
    [
        ("", 2),
        ("kind", 3),
        ("metadata.name", 5),
        ("metadata.annotations.example.com/owner", 7),
        ("metadata.annotations[example.com/owner]", 7),
        ('metadata.annotations["example.com/owner"]', 7),
        ("spec.template.spec.containers[0].resources.limits.cpu", 16),
        ("spec.template.spec.containers[0].resources.limits.memory", 15),
        ("spec.template.spec.containers[1].image", 18),
        ("spec.template.spec.containers[1].ports[0].containerPort", 17),
        ("spec.template.spec.containers[5].image", 11),
        ("spec.selector.matchLabels", 8),
        ("status", 2),
    ],
    ids=lambda value: str(value),
)
def test_line_of_names_the_deepest_existing_part(field: str, line: int) -> None:
    (doc,) = load(NESTED)
    assert doc.line_of(field) == line


def test_multi_document_file_keeps_each_start_line_and_skips_empty_documents() -> None:
    text = "---\n---\n# only a comment\n---\na: 1\n...\n---\n\nb: 2\nc: [x]\n"
    docs = load(text)
    assert [(d.line, d.index, d.data) for d in docs] == [
        (5, 2, {"a": 1}),
        (9, 3, {"b": 2, "c": ["x"]}),
    ]


def test_kyaml_flow_style_with_comments_and_trailing_commas() -> None:
    text = """\
---
{
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "p", # trailing comment
  },
  spec: {
    containers: [{
      # a comment inside a flow collection
      name: "c",
      image: "busybox",
    }],
  },
}
"""
    (doc,) = load(text)
    assert doc.data == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    assert doc.line == 2
    assert doc.line_of("spec.containers[0].image") == 12
    assert doc.line_of("metadata.name") == 6


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("- {name: c, image: localhost/web:v1}", [{"name": "c", "image": "localhost/web:v1"}]),
        ("[localhost:5000/web:v1, a:b]", ["localhost:5000/web:v1", "a:b"]),
        ("{port: 0400, at: '10:30', on: yes}", {"port": 256, "at": "10:30", "on": True}),
    ],
    ids=["image-in-flow-mapping", "flow-sequence", "yaml-1.1-numbers-stay"],
)
def test_colons_inside_plain_flow_scalars_read_as_kubectl_reads_them(text: str,
                                                                      value: object) -> None:
    # libyaml refuses these (YAML 1.1); kubectl and kustomize read the string (YAML 1.2).
    (doc,) = load(f"# comment\nkind: Pod\nv:\n  {text}\n")
    assert doc.data["v"] == value
    assert (doc.line, doc.line_of("v")) == (2, 3)


def test_a_flow_file_both_parsers_refuse_keeps_libyamls_sentence() -> None:
    assert problems_of("kind: Pod\nv: {a: b: c}\n") == [
        "f.yaml:2: The file is not valid YAML: did not find expected ',' or '}' "
        "(while parsing a flow mapping on line 2)."]


def test_end_markers_missing_final_newline_and_trailing_spaces() -> None:
    text = "---\na: 1   \nb: x  \n\n\n...\n---\nc: 3\n..."
    assert [d.data for d in load(text)] == [{"a": 1, "b": "x"}, {"c": 3}]


def test_block_scalars_and_escaped_double_quoted_strings() -> None:
    text = 'a: |\n  line 1\n  line 2\nb: >-\n  folded\n  text\nc: "one \\\n  two\\nthree"\n'
    (doc,) = load(text)
    assert doc.data == {"a": "line 1\nline 2\n", "b": "folded text", "c": "one two\nthree"}
    assert doc.line_of("b") == 4


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0400", 256),
        ("0o400", 256),
        ("0x1F", 31),
        ("1_000", 1000),
        ("-12", -12),
        ("3.50", 3.5),
        ("1e3", 1000.0),
        ("yes", True),
        ("off", False),
        ("~", None),
        ("", None),
        ("'0400'", "0400"),
        ('"yes"', "yes"),
        ("2024-01-01", "2024-01-01"),
        ("1:20", "1:20"),
        ("500m", "500m"),
        ("!!str 8080", "8080"),
        ("!!int '8080'", 8080),
        ("!!float 1", 1.0),
    ],
    ids=lambda value: repr(value),
)
def test_scalars_mean_what_kubernetes_reads(text: str, value: object) -> None:
    (doc,) = load(f"v: {text}\n")
    assert doc.data["v"] == value
    assert type(doc.data["v"]) is type(value)


def test_keys_are_the_text_written() -> None:
    (doc,) = load("80: http\non: yes\n0x10: a\n!!int 0x11: b\n")
    assert doc.data == {"80": "http", "on": True, "0x10": "a", "17": "b"}


def test_anchors_aliases_and_merge_keys() -> None:
    text = "base: &b\n  x: 1\n  y: 2\nother:\n  <<: *b\n  y: 3\nlist: [*b, *b]\n"
    (doc,) = load(text)
    assert doc.data["other"] == {"y": 3, "x": 1}
    assert doc.data["list"] == [{"x": 1, "y": 2}, {"x": 1, "y": 2}]
    assert doc.line_of("other.y") == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "a: 1\nb:\n  c: 2\n  c: 3\n",
            'f.yaml:4: The key "c" appears twice in the same mapping (lines 3 and 4); '
            "keep only one.",
            id="duplicate-key",
        ),
        pytest.param(
            "{a: 1, a: 2}\n",
            'f.yaml:1: The key "a" appears twice in the same mapping (lines 1 and 1); '
            "keep only one.",
            id="duplicate-key-in-flow",
        ),
        pytest.param(
            "a:\n  b: 1\n\tc: 2\n",
            "f.yaml:3: A tab is used for indentation, which YAML does not allow; "
            "indent with spaces.",
            id="tab-indentation",
        ),
        pytest.param(
            "a: 1\n---\n- x\n",
            "f.yaml:3: Document 2 is a list, not a mapping; a manifest is a mapping with "
            "apiVersion, kind and metadata.",
            id="list-document",
        ),
        pytest.param(
            "just text\n",
            "f.yaml:1: Document 1 is a single value, not a mapping; a manifest is a mapping "
            "with apiVersion, kind and metadata.",
            id="scalar-document",
        ),
        pytest.param(
            "a: *nowhere\n",
            "f.yaml:1: The alias *nowhere has no anchor before it.",
            id="unknown-alias",
        ),
        pytest.param(
            "a: !vault secret\n",
            "f.yaml:1: The tag !vault is not supported; write the value as a plain string "
            "or number.",
            id="custom-tag",
        ),
        pytest.param(
            "a: !!int ten\n",
            "f.yaml:1: The value 'ten' is not a valid !!int.",
            id="bad-int-tag",
        ),
        pytest.param(
            b"a: \xff\xfe\n",
            "f.yaml: The file is not UTF-8 text (invalid start byte).",
            id="not-utf8",
        ),
    ],
)
def test_broken_yaml_is_a_problem_with_its_line(text: str | bytes, expected: str) -> None:
    assert problems_of(text) == [expected]
    with pytest.raises(errors.ManifestError) as raised:
        load(text)
    assert expected in str(raised.value)


@pytest.mark.parametrize("pure", [False, True], ids=["libyaml", "pure-python"])
def test_invalid_yaml_says_what_the_parser_expected(pure: bool) -> None:
    documents = yamlload._Builder(yamlload.parse_events("a: [1, 2\n", pure=pure)).documents()
    with pytest.raises(yamlload.MarkedYAMLError):
        list(documents)
    (problem,) = problems_of("a: [1, 2\n")
    assert problem.startswith("f.yaml:2: The file is not valid YAML: ")
    assert problem.endswith("(while parsing a flow sequence on line 1).")


DEEP = "f.yaml:{line}: Mappings and lists are nested more than 100 levels deep here; gitkube " \
       "reads at most that many (no manifest needs more)."


@pytest.mark.parametrize("pure", [False, True], ids=["libyaml", "pure-python"])
@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("a: " + "[" * 3000 + "]" * 3000 + "\n", 1, id="3000-flow-lists"),
        pytest.param("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 601))
                     + "  " * 601 + "c\n", 101, id="600-block-mappings"),
        pytest.param("a: " + "{b: " * 2000 + "1" + "}" * 2000 + "\n", 1, id="2000-flow-maps"),
        pytest.param("- " * 200 + "x\n", 1, id="200-block-lists"),
    ],
)
def test_deep_nesting_is_a_problem_with_its_line(text: str, line: int, pure: bool) -> None:
    documents = yamlload._Builder(yamlload.parse_events(text, pure=pure)).documents()
    with pytest.raises(yamlload._Invalid) as raised:
        list(documents)
    assert f"f.yaml:{raised.value.line}: {raised.value.message}" == DEEP.format(line=line)
    assert problems_of(text) == [DEEP.format(line=line)]


def test_nesting_up_to_the_bound_is_read() -> None:
    (document,) = load("a: " + "[" * 99 + "x" + "]" * 99 + "\n")
    value = document.data["a"]
    for _ in range(98):
        value = value[0]
    assert value == ["x"]


def test_alias_bombs_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    (problem,) = problems_of("\n".join(lines) + "\n")
    assert "expands to more than" in problem


def test_corpus_negative_file_with_tabs_is_a_yaml_problem_on_its_line() -> None:
    path = "pods/inject/pod-multiple-secret-env-variable.yaml"
    _, problems = yamlload.parse_documents((CORPUS / path).read_bytes(), path)
    assert [str(p) for p in problems] == [
        f"{path}:15: A tab is used for indentation, which YAML does not allow; indent with spaces."
    ]


CORPUS_FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.yaml"))


def test_the_corpus_is_there() -> None:
    assert len(CORPUS_FILES) == 94


@pytest.mark.parametrize("path", CORPUS_FILES)
def test_every_corpus_file_loads_with_the_documents_its_index_lists(path: str) -> None:
    index = {
        row.split("\t")[0]: row.split("\t")[1].split(",")
        for row in (CORPUS / "INDEX.tsv").read_text().splitlines()[1:]
    }
    text = (CORPUS / path).read_bytes()
    documents, problems = yamlload.parse_documents(text, path)
    if path == "pods/inject/pod-multiple-secret-env-variable.yaml":
        assert problems and problems[0].line == 15
        return
    assert problems == []
    assert [d.data.get("kind") for d in documents] == index[path]
    lines = text.decode().splitlines()
    for doc in documents:
        assert "kind" in lines[doc.line_of("kind") - 1]
        assert "name" in lines[doc.line_of("metadata.name") - 1]


def test_libyaml_and_the_pure_python_parser_read_the_corpus_alike() -> None:
    for path in CORPUS_FILES:
        text = (CORPUS / path).read_text()
        fast = yamlload._Builder(yamlload.parse_events(text)).documents()
        slow = yamlload._Builder(yamlload.parse_events(text, pure=True)).documents()
        try:
            expected = [(i, v) for i, v, _ in slow]
        except yamlload.MarkedYAMLError:
            with pytest.raises(yamlload.MarkedYAMLError):
                list(fast)
            continue
        assert [(i, v) for i, v, _ in fast] == expected, path
