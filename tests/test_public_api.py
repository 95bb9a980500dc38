import thermomech


def test_public_api_is_explicit():
    assert sorted(thermomech.__all__) == sorted(set(thermomech.__all__))
    for name in thermomech.__all__:
        assert hasattr(thermomech, name), name


def test_import_runs_nothing_heavy():
    import subprocess
    import sys

    code = "import sys, thermomech; print('matplotlib' in sys.modules, 'pint' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_public_name_is_documented():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    missing = [name for name in thermomech.__all__ if f"`{name}" not in text]
    assert not missing, f"document these in docs/api.md: {missing}"


def test_the_one_call_run_and_the_solvers_are_public():
    from thermomech.analysis import run_model
    from thermomech.mechanics import solve_warpage
    from thermomech.thermal import solve_thermal

    assert thermomech.run_model is run_model
    assert thermomech.solve_warpage is solve_warpage
    assert thermomech.solve_thermal is solve_thermal


def test_names_and_submodules_load_on_first_use():
    """``import thermomech`` is lazy (PEP 562) yet reads as before: a public name, a
    subpackage, and ``submodel`` the function (also the name of its module), also once
    the module is imported; ``thermomech.study`` is lazy too."""
    import subprocess
    import sys

    code = ("import sys, thermomech; assert 'thermomech.characterization' not in sys.modules; "
            "assert 'scipy' not in sys.modules; "
            "assert callable(thermomech.submodel) and callable(thermomech.material_point); "
            "import thermomech.submodel, thermomech.material_point; "
            "assert callable(thermomech.submodel) and callable(thermomech.material_point); "
            "import thermomech.study; assert 'thermomech.study.definition' not in sys.modules; "
            "assert thermomech.study.run_study is thermomech.run_study; "
            "assert not hasattr(thermomech, 'no_such_name'); print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
