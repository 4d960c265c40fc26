"""Code fingerprints: what changes them, what does not, and that they are stable."""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from plait.runtime.keys.fingerprint import code_fingerprint, stable_repr

BASE = """
    import functools
    import math
    from os.path import join

    SCALE = 2
    NAMES = {"alpha", "beta", "gamma", "delta"}


    def helper(x):
        return x * SCALE


    def unrelated():
        return "unrelated"


    def main(x):
        return helper(x) + math.floor(x)


    class Model:
        def predict(self, x):
            return helper(x)


    MODEL = Model()


    def uses_class(x):
        return Model().predict(x)


    def uses_instance(x):
        return MODEL.predict(x)


    def uses_names(x):
        return x in NAMES and join("a", "b")


    @functools.lru_cache
    def cached_helper(x):
        return x + SCALE


    def uses_cached(x):
        return cached_helper(x)


    def nested(x):
        return [helper(v) for v in range(x)]


    def ping(n):
        return pong(n - 1) if n else 0


    def pong(n):
        return ping(n)


    class Doubler:
        def __call__(self, x):
            return helper(x) * 2
"""


@pytest.fixture
def load(tmp_path):
    """Write module source into its own folder and import it fresh, as after an edit."""
    names = []

    def load(source: str):
        folder = tmp_path / uuid.uuid4().hex
        folder.mkdir()
        path = folder / "flowmod.py"
        path.write_text(textwrap.dedent(source))
        name = f"fingerprint_case_{uuid.uuid4().hex}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # inspect.getsource finds class source through it
        names.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in names:
        sys.modules.pop(name, None)


def edited(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


def test_the_fingerprint_is_a_sha256_hex_digest(load):
    fingerprint = code_fingerprint(load(BASE).main)
    assert len(fingerprint) == 64 and int(fingerprint, 16) >= 0


def test_the_same_code_in_another_file_has_the_same_fingerprint(load):
    assert code_fingerprint(load(BASE).main) == code_fingerprint(load(BASE).main)


def test_changing_the_function_changes_the_fingerprint(load):
    changed = edited("helper(x) + math.floor(x)", "helper(x) + math.ceil(x)")
    assert code_fingerprint(load(BASE).main) != code_fingerprint(load(changed).main)


def test_changing_a_helper_changes_the_fingerprint(load):
    changed = edited("return x * SCALE", "return x * SCALE + 1")
    assert code_fingerprint(load(BASE).main) != code_fingerprint(load(changed).main)


def test_changing_an_unrelated_function_keeps_the_fingerprint(load):
    changed = edited('return "unrelated"', 'return "something else entirely"')
    assert code_fingerprint(load(BASE).main) == code_fingerprint(load(changed).main)


def test_changing_a_constant_a_helper_uses_changes_the_fingerprint(load):
    changed = edited("SCALE = 2", "SCALE = 3")
    assert code_fingerprint(load(BASE).main) != code_fingerprint(load(changed).main)


def test_changing_a_method_of_a_class_it_uses_changes_the_fingerprint(load):
    changed = edited("            return helper(x)", "            return helper(x) - 1")
    before, after = load(BASE), load(changed)
    assert code_fingerprint(before.uses_class) != code_fingerprint(after.uses_class)
    assert code_fingerprint(before.uses_instance) != code_fingerprint(after.uses_instance)


def test_a_helper_used_inside_a_comprehension_counts(load):
    changed = edited("return x * SCALE", "return x * SCALE * SCALE")
    assert code_fingerprint(load(BASE).nested) != code_fingerprint(load(changed).nested)


def test_a_helper_behind_a_caching_decorator_counts(load):
    changed = edited("return x + SCALE", "return x - SCALE")
    assert code_fingerprint(load(BASE).uses_cached) != code_fingerprint(load(changed).uses_cached)


def test_mutual_recursion_is_walked_once(load):
    module = load(BASE)
    assert code_fingerprint(module.ping) != code_fingerprint(module.pong)
    changed = edited("return ping(n)", "return ping(n - 1)")
    assert code_fingerprint(module.ping) != code_fingerprint(load(changed).ping)


def test_a_callable_instance_follows_its_call_method(load):
    changed = edited("return helper(x) * 2", "return helper(x) * 3")
    assert code_fingerprint(load(BASE).Doubler()) != code_fingerprint(load(changed).Doubler())


def test_fingerprints_are_the_same_in_separate_processes(tmp_path, load):
    path = tmp_path / "flowmod_for_processes.py"
    path.write_text(textwrap.dedent(BASE))
    script = (
        "import importlib.util, sys\n"
        "from plait.runtime.keys.fingerprint import code_fingerprint\n"
        f"spec = importlib.util.spec_from_file_location('flowmod_p', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['flowmod_p'] = m\n"
        "spec.loader.exec_module(m)\n"
        "print(code_fingerprint(m.uses_names), code_fingerprint(m.uses_instance))\n"
    )
    outputs = []
    for seed in ("1", "2"):
        # Different hash seeds change set iteration order; fingerprints must not follow.
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        outputs.append(result.stdout.split())
    assert outputs[0] == outputs[1]
    module = load(BASE)
    assert outputs[0] == [
        code_fingerprint(module.uses_names),
        code_fingerprint(module.uses_instance),
    ]


def test_a_function_without_source_falls_back_to_its_bytecode():
    def make(body: str):
        namespace: dict = {}
        exec(f"def made(x):\n    return {body}\n", namespace)  # noqa: S102 - no source file on purpose
        return namespace["made"]

    assert code_fingerprint(make("x + 1")) == code_fingerprint(make("x + 1"))
    assert code_fingerprint(make("x + 1")) != code_fingerprint(make("x + 2"))


def test_builtins_are_fingerprinted_by_name_and_version():
    assert code_fingerprint(math.sqrt) == code_fingerprint(math.sqrt)
    assert code_fingerprint(math.sqrt) != code_fingerprint(math.cos)


def test_library_functions_are_fingerprinted():
    numpy = pytest.importorskip("numpy")
    assert code_fingerprint(numpy.linspace) != code_fingerprint(numpy.add)


def test_a_partial_counts_its_bound_arguments(load):
    module = load(BASE)
    assert code_fingerprint(functools.partial(module.main, 1)) == code_fingerprint(
        functools.partial(module.main, 1)
    )
    assert code_fingerprint(functools.partial(module.main, 1)) != code_fingerprint(
        functools.partial(module.main, 2)
    )
    assert code_fingerprint(functools.partial(module.main, 1)) != code_fingerprint(module.main)


def test_a_bound_method_is_its_function_and_its_instance(load):
    module = load(BASE)
    first, second = module.Model(), module.Model()
    assert code_fingerprint(first.predict) == code_fingerprint(second.predict)
    second.threshold = 0.5  # what the method sees through self is part of what runs
    assert code_fingerprint(first.predict) != code_fingerprint(second.predict)
    assert code_fingerprint(first.predict) != code_fingerprint(module.Model.predict)


def test_stable_repr_sorts_sets_and_refuses_arbitrary_objects():
    assert stable_repr({"b", "a"}) == stable_repr({"a", "b"}) == "set('a', 'b')"
    assert stable_repr({"k": (1, 2.5, None)}) == "dict({'k': tuple(1, 2.5, None)})"
    assert stable_repr(object()) is None
    assert stable_repr([object()]) is None
