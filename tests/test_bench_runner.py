"""benchmarks/run_all.py: discovering scripts, rendering their JSON, rewriting the README."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_all(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(module, "README", tmp_path / "README.md")
    (tmp_path / "results").mkdir()
    return module


def test_scripts_are_every_benchmark_but_itself(run_all):
    names = [p.name for p in run_all.scripts()]
    assert "run_all.py" not in names
    assert names == sorted(names) and all(n.endswith(".py") for n in names)
    with pytest.raises(SystemExit, match="unknown benchmark"):
        run_all.scripts(["no-such-benchmark"])


def test_rows_render_as_a_markdown_table(run_all):
    data = {
        "title": "Speed",
        "date": "2026-11-27",
        "rows": [
            {"method": "jacobi", "seconds": 1.23456, "ok": True},
            {"method": "sor", "seconds": 1e-6, "speedup": 12, "note": "a|b"},
        ],
        "ratios": {"sor_vs_jacobi": 12.5},
        "rates": {"jacobi": {"median": 650.0}},
        "nested": {"a": {"b": {"c": 1}}},
    }
    text = run_all.render("relax", data)
    lines = text.splitlines()
    assert lines[0] == "### relax"
    assert "| method | seconds | ok | speedup | note |" in lines
    assert "| jacobi | 1.23 | true | - | - |" in lines
    assert "| sor | 1.00e-06 | - | 12 | - | a\\|b |" not in lines  # the column count is kept
    assert "| sor | 1.00e-06 | - | 12 | a\\|b |" in lines
    assert "| sor_vs_jacobi | 12.5 |" in lines
    assert "| jacobi | 650 |" in lines
    assert "**nested**" in text and "|  | b.c |" in text and "| a | 1 |" in text
    assert text.index("| method |") < text.index("**ratios**")  # rows first
    # a bare list of rows is a table too
    assert "| x |" in run_all.render("bare", [{"x": 1}])


def test_quick_and_full_results_are_kept_apart(run_all):
    res = run_all.RESULTS
    (res / "relaxation.json").write_text(json.dumps({"rows": [{"a": 1}]}))
    (res / "relaxation-quick.json").write_text(json.dumps({"rows": [{"a": 2}]}))
    (res / "dnn.json").write_text(json.dumps({"quick": True, "rows": [{"a": 3}]}))
    (res / "broken.json").write_text("{not json")
    full = run_all.read_results(quick=False)
    assert set(full) == {"relaxation", "broken"}
    assert "could not read" in run_all.render("broken", full["broken"])
    assert set(run_all.read_results(quick=True)) == {"relaxation-quick", "dnn"}


def test_readme_section_is_replaced_between_markers(run_all):
    text = "# fpsolve\n\nintro\n"
    once = run_all.rewrite_readme(text, "first")
    assert once.startswith(text.rstrip("\n"))
    assert f"{run_all.HEADING}\n\n{run_all.BEGIN}\nfirst\n{run_all.END}" in once
    twice = run_all.rewrite_readme(once + "\n## After\n", "second")
    assert "first" not in twice and "second" in twice and twice.endswith("## After\n")
    assert twice.count(run_all.BEGIN) == 1


def test_main_rewrites_readme_only_for_full_runs(run_all, capsys):
    run_all.README.write_text("# fpsolve\n")
    (run_all.RESULTS / "hybrid.json").write_text(json.dumps({"rows": [{"method": "h"}]}))
    assert run_all.main(["--no-run", "--quick"]) == 0
    assert run_all.README.read_text() == "# fpsolve\n"
    assert run_all.main(["--no-run"]) == 0
    text = run_all.README.read_text()
    assert "### hybrid" in text and "| h |" in text


def test_keys_starting_with_an_underscore_are_kept_out_of_the_tables(run_all):
    data = {"rows": [{"case": "a", "its": 3}], "_cases": [{"nested": {"x": 1}}], "extra": 2}
    text = run_all.render("helmholtz", data)
    assert "| a | 3 |" in text and "extra: 2" in text
    assert "_cases" not in text and "nested" not in text


def test_nested_results_render_as_tables_not_as_a_blob(run_all):
    data = {
        "large": {
            "1023": {"solve": 0.1, "first_run": {"total": 0.15}},
            "4095": {"solve": 2.0, "first_run": {"total": 3.8}},
            "ratio": 20.0,
        },
        "runs": [1.5, 2.5],
    }
    md = run_all.render("multigrid-large", data)
    assert "`{" not in md and "`[" not in md
    assert "| 4095 | 2 | 3.8 |" in md  # a row per size, nested keys dotted
    assert "first_run.total" in md and "| ratio | 20 |" in md and "1.5, 2.5" in md
    wide = {"cases": {"a": {f"v{i}": {"s": i, "t": 2 * i} for i in range(20)}}}
    md = run_all.render("wide", wide)  # 40 columns: one table per outer key instead
    assert "*a*" in md and "| v19 | 19 | 38 |" in md
