"""The one option schema: converters, defaults, messages, and that every declaration uses it."""

import pytest

import hybrid
import problems
from hybrid.app import cli
from problems.parameters import (
    Parameter,
    Parameters,
    boolean,
    choice,
    either,
    integer,
    number,
    optional,
    sequence,
)
from solvers.registry import SETTINGS


@pytest.mark.parametrize(
    ("convert", "value", "expected"),
    [
        (number(), "1e-3", 1e-3),
        (number(low=0), 0, 0.0),
        (number(low=0, high=2, open=True), "1.5", 1.5),
        (integer(low=1), "7", 7),
        (integer(), 3.0, 3),
        (choice("a", "b"), "b", "b"),
        (choice(None, "cg"), "none", None),
        (optional(integer(low=1)), None, None),
        (either(choice("auto"), integer(low=1)), "4", 4),
        (boolean(), "false", False),
        (sequence(integer(low=1)), "64,32", (64, 32)),
        (sequence(number()), [1, 2.5], (1.0, 2.5)),
    ],
)
def test_converters_accept_values_and_their_text(convert, value, expected):
    out = convert(value)
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    ("convert", "value", "message"),
    [
        (number(), "nan", "must be a finite number, got 'nan'"),
        (number(), True, "must be a finite number, got True"),
        (number(low=0, strict_low=True), 0, "must be a finite number > 0, got 0"),
        (number(low=0, high=2, open=True), 2, r"must be a finite number in \(0, 2\), got 2"),
        (integer(low=1), 1.5, "must be an integer >= 1, got 1.5"),
        (integer(low=1), 0, "must be an integer >= 1, got 0"),
        (integer(), True, "must be an integer, got True"),
        (choice("a", "b"), "c", "must be one of a, b, got 'c'"),
        (either(choice("auto"), integer(low=1)), "x", "must be 'auto' or an integer >= 1"),
        (boolean(), 1, "must be true or false, got 1"),
        (sequence(integer(low=1)), (), "must be a comma-separated list of integer >= 1s"),
    ],
)
def test_converters_refuse_with_what_they_accept(convert, value, message):
    with pytest.raises(ValueError, match=message):
        convert(value)


def test_resolve_fills_defaults_converts_and_names_the_culprit():
    schema = Parameters(
        Parameter("k", 2, integer(low=1), "an int"),
        Parameter("w", None, optional(number()), "a weight"),
    )
    assert schema.resolve({}) == {"k": 2, "w": None}
    assert schema.resolve({"k": "5", "w": "0.5"}) == {"k": 5, "w": 0.5}
    with pytest.raises(ValueError, match=r"^method 'm': k must be an integer >= 1, got 0$"):
        schema.resolve({"k": 0}, "method 'm'")
    with pytest.raises(ValueError, match="unknown option 'x' for method 'm'; valid options: k, w"):
        schema.resolve({"x": 1}, "method 'm'")
    # a later declaration of a name replaces the earlier one (one schema extends another)
    extended = Parameters(schema, Parameter("k", 3, integer(), "replaced"))
    assert list(extended) == ["k", "w"] and extended["k"].default == 3


#: Methods whose options are still declared the deprecated way (name -> doc, no
#: converter): none left; kept so that a new method added that way fails loudly here.
NOT_YET_ON_THE_SCHEMA: set[str] = set()


def test_every_method_declares_its_options_in_the_schema_with_valid_defaults():
    for name in sorted(set(hybrid.methods()) - NOT_YET_ON_THE_SCHEMA):
        options = hybrid.REGISTRY.get(name).options
        assert isinstance(options, Parameters), name
        for p in options.values():
            assert p.doc, f"{name}.{p.name} has no doc line"
            if p.default is not None:
                p(p.default)  # the default passes its own converter
        # solve fills in every default: the result can record the options used
        assert set(hybrid.REGISTRY.resolve_options(name, {})) == set(options)


def test_every_catalogue_parameter_is_declared_in_the_schema():
    for name in problems.names():
        params = problems.entry(name).params
        assert isinstance(params, Parameters) and params.kind == "parameter"
        for p in params.values():
            assert p.doc
            if p.default is not None:
                assert p(p.default) is not None  # the default passes its converter


def test_the_cli_keys_and_solve_share_one_declaration():
    for key in ("rtol", "maxiter", "record_every", "seed"):
        assert cli.COMMON[key] is SETTINGS[key]
    assert cli.COMMON["max_seconds"].convert is SETTINGS["max_seconds"].convert


def test_results_record_the_options_actually_used():
    p = problems.get("paper1d", n=31)
    r = hybrid.solve(p, "sor", maxiter=5, rtol=0)
    assert set(r.options) == {"omega", "sweep"} and 1 < r.options["omega"] < 2
    r = hybrid.solve(p, "mg-pcg", levels="2")
    assert r.options == {
        "levels": 2,
        "coarsest": 15,
        "sweeps": 2,
        "smoother": "chebyshev",
        "precision": "float32",
    }


def test_options_declared_as_docs_still_work_and_pass_only_when_given():
    """Deprecated path for methods not yet on the schema: name -> doc, no defaults filled."""
    from solvers.registry import Registry, method

    seen = []

    @method("records its options", {"kind": "a kind", "level": "a level"})
    def legacy(problem, settings, kind="own default", **rest):
        seen.append((kind, rest))

    reg = Registry({"legacy": legacy})
    p = problems.get("paper1d", n=15)
    reg.solve(p, "legacy")
    reg.solve(p, "legacy", level=3)
    assert seen == [("own default", {}), ("own default", {"level": 3})]
    with pytest.raises(ValueError, match="unknown option 'bogus' for method 'legacy'"):
        reg.solve(p, "legacy", bogus=1)
    assert "kind=..." in reg.get("legacy").options.describe()[0]
