"""The YAML drill writes for compose, `docker stack deploy` and Prometheus reads back as the
same strings under YAML 1.2's core schema, as the docker CLI's parser reads it: a run id such
as 557e30 or 045486 stays a string (it became the label 5.57e+32 or 45486 on swarm)."""

from __future__ import annotations

import itertools
import random
import re
from typing import Any

import yaml

from doors import yamlfile
from doors.swarmfile import stack_document, substitute
from drills.rules import default_rules
from stack import prometheus
from stack.resources import compose_file
from stack.spec import StackSpec, render_compose, stack_env


class Core12Loader(yaml.SafeLoader):
    """PyYAML reading plain scalars by YAML 1.2's core schema (what Go's parsers do), not 1.1's."""


FLOAT12 = r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
Core12Loader.yaml_implicit_resolvers = {}
for tag, pattern, first in [
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    ("float", FLOAT12, "-+.0123456789"),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
]:
    Core12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{tag}", re.compile(f"^(?:{pattern})$"), list(first))


def _int12(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """1.2 ints: a leading zero is decimal (045486 is 45486); octal and hex have prefixes."""
    text = str(loader.construct_scalar(node))
    return int(text[2:], 8) if text.startswith("0o") else int(text[2:], 16) if text.startswith("0x") else int(text)


Core12Loader.add_constructor("tag:yaml.org,2002:int", _int12)


def read_by_core12(text: str) -> Any:
    return yaml.load(text, Loader=Core12Loader)


AMBIGUOUS = ["557e30", "045486", "123456", "0e1234", "1e10", "000000", "true", "null", "~", "-c", ".5", "0x1f"]


def test_the_core12_reader_is_a_real_check() -> None:
    """PyYAML's own dump leaves these plain, and a YAML 1.2 reader turns them into numbers."""
    plain = read_by_core12(yaml.safe_dump({"a": "557e30", "b": "045486"}))
    assert plain == {"a": 5.57e32, "b": 45486}


def test_strings_that_read_as_numbers_or_words_come_back_as_the_same_strings() -> None:
    rng = random.Random(7)
    ids = AMBIGUOUS + ["".join(rng.choice("0123456789abcdef") for _ in range(6)) for _ in range(2000)]
    document = {"labels": {f"k{i}": value for i, value in enumerate(ids)}, "list": ids, "n": 5, "on": True}
    text = yamlfile.dump(document)
    assert read_by_core12(text) == document
    assert yaml.safe_load(text) == document  # and by YAML 1.1, as docker-compose 1.x reads it


def test_other_strings_stay_plain_so_the_files_read_as_before() -> None:
    text = yamlfile.dump({"image": "drill/app:latest", "run": "abc123", "name": "drill-557e30"})
    assert text == "image: drill/app:latest\nrun: abc123\nname: drill-557e30\n"


def test_a_swarm_stack_keeps_a_numeric_looking_run_id_in_every_label() -> None:
    """The stack file as doors.swarm writes it, read as `docker stack deploy` reads it."""
    rendered = render_compose(yaml.safe_load(compose_file().read_text()), StackSpec(replicas=3))
    env = stack_env("557e30", StackSpec(replicas=3), "/runs/557e30/lb", (41001, 41002, 41003), "045486")
    ports = itertools.count(42000)
    document, _ = stack_document(substitute(rendered, env), lambda: next(ports))
    stack = read_by_core12(yamlfile.dump(document))
    for where in ("labels", "deploy"):
        labels = [s[where] if where == "labels" else s[where]["labels"] for s in stack["services"].values()]
        assert {(x["drill.run"], x["drill.home"]) for x in labels} == {("557e30", "045486")}, where


def test_prometheus_files_read_back_the_same_by_either_schema() -> None:
    for text in (prometheus.scrape_config(3), prometheus.alerting_rules(default_rules())):
        assert read_by_core12(text) == yaml.safe_load(text)
