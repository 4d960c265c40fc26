"""Node specs from callables: ports, choices, descriptions, outputs, @node metadata."""

# String annotations on purpose: spec_from_callable must resolve them.
from __future__ import annotations

import datetime
import enum
import functools
import math
from typing import Annotated, Any, Literal, NamedTuple, Optional, TypedDict

import annotated_types
import pytest
from pydantic import Field

from plait.runtime.nodes.decorator import node, node_metadata
from plait.runtime.nodes.introspect import NodeSpecError, Range, humanise, spec_from_callable
from plait.runtime.nodes.spec import (
    KEYWORD_ONLY,
    OUTPUT_ATTRIBUTES,
    OUTPUT_MAPPING,
    OUTPUT_NONE,
    OUTPUT_SEQUENCE,
    OUTPUT_SINGLE,
    POSITIONAL_ONLY,
    POSITIONAL_OR_KEYWORD,
    REQUIRED,
    VAR_KEYWORD,
    VAR_POSITIONAL,
    NodeOptions,
)


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Split(NamedTuple):
    train: list[int]
    test: list[int]


class Summary(TypedDict):
    mean: float
    count: int


def scale(values: list[float], /, factor: float = 2.0, *, clip: bool = False) -> list[float]:
    """Multiply every value.

    Longer explanation of scaling.

    Args:
        values: The numbers to scale.
        factor: How much to multiply by.
        clip: Whether to clip at one.

    Returns:
        The scaled numbers.
    """
    return [v * factor for v in values]


def untyped(a, b=3):
    return a + b


def variadic(first: int, *rest: int, **options: str) -> int:
    return first


def choose(
    mode: Literal["fast", "exact"] = "fast",
    colour: Colour = Colour.RED,
    maybe: Optional[Literal["a", "b"]] = None,  # noqa: UP045 - Optional is the case under test
) -> str:
    return mode


def bounded(
    ratio: Annotated[float, "Share of rows kept", Range(0.0, 1.0)] = 0.5,
    count: Annotated[int, annotated_types.Ge(1), annotated_types.Le(10)] = 3,
    window: Annotated[int, annotated_types.Interval(gt=0, lt=100)] = 5,
    level: Annotated[float, Field(description="Noise level", ge=0, le=5)] = 1.0,
) -> None:
    """Do a bounded thing.

    Args:
        ratio: Docstring words that the Annotated description beats.
        count: How many.
    """


def with_unresolvable(x: NotDefinedAnywhere, y: int = 1) -> int:  # noqa: F821
    return y


def split(values: list[int]) -> Split:
    return Split(values[:1], values[1:])


def summarise(values: list[float]) -> Summary:
    return {"mean": sum(values) / len(values), "count": len(values)}


@node(title="Cut in two", outputs=("head", "tail"), retries=2, timeout=5, tags=("demo",))
def cut(values: list[int]) -> tuple[int, list[int]]:
    return values[0], values[1:]


@node(outputs={"low": int, "high": int})
def extremes(values: list[int]) -> dict:
    return {"low": min(values), "high": max(values)}


@node(outputs=("mean", "count"))
def summary_by_name(values: list[float]) -> Summary:
    return summarise(values)


@node(outputs="table")
def renamed(x: int) -> int:
    return x


@node
def plain_decorated(x: int) -> int:
    return x + 1


class Scaler:
    """Scales by a fixed factor."""

    def __init__(self, factor: float = 2.0) -> None:
        self.factor = factor

    def __call__(self, x: float) -> float:
        return x * self.factor

    def apply(self, x: float, offset: float = 0.0) -> float:
        return x * self.factor + offset


def ports(spec):
    return {port.name: port for port in spec.inputs}


# --- our own typed examples -------------------------------------------------


def test_ports_follow_the_signature():
    spec = spec_from_callable(scale)
    values, factor, clip = spec.inputs
    assert (values.name, values.kind, values.annotation) == ("values", POSITIONAL_ONLY, list[float])
    assert values.default is REQUIRED and values.required
    assert (factor.kind, factor.default, factor.annotation) == (POSITIONAL_OR_KEYWORD, 2.0, float)
    assert (clip.kind, clip.default, clip.annotation) == (KEYWORD_ONLY, False, bool)
    assert not factor.required


def test_key_title_and_group_default_from_the_function():
    spec = spec_from_callable(scale)
    assert spec.key == f"{__name__}:scale"
    assert spec.title == "Scale"
    assert spec.module == __name__
    assert spec.func is scale
    assert spec.fingerprint and len(spec.fingerprint) == 64


def test_key_and_group_can_be_given():
    spec = spec_from_callable(scale, key="mine:scale", module="Maths")
    assert (spec.key, spec.module) == ("mine:scale", "Maths")


def test_titles_are_humanised_names():
    assert humanise("train_test_split") == "Train test split"
    assert humanise("StandardScaler") == "Standard scaler"
    assert humanise("fit_PCA") == "Fit PCA"
    assert humanise("_private_") == "Private"


def test_unannotated_inputs_are_any_with_their_defaults():
    a, b = spec_from_callable(untyped).inputs
    assert (a.annotation, a.default) == (Any, REQUIRED)
    assert (b.annotation, b.default) == (Any, 3)
    assert spec_from_callable(untyped).outputs[0].annotation is Any


def test_an_unresolvable_annotation_stays_as_written_and_the_rest_resolve():
    x, y = spec_from_callable(with_unresolvable).inputs
    assert x.annotation == "NotDefinedAnywhere"
    assert y.annotation is int


def test_star_args_and_kwargs_are_shown_but_not_wireable():
    first, rest, options = spec_from_callable(variadic).inputs
    assert first.wireable and first.required
    assert (rest.kind, rest.wireable, rest.required, rest.annotation) == (
        VAR_POSITIONAL,
        False,
        False,
        int,
    )
    assert (options.kind, options.wireable, options.required) == (VAR_KEYWORD, False, False)


def test_literal_and_enum_annotations_give_choices():
    p = ports(spec_from_callable(choose))
    assert p["mode"].choices == ("fast", "exact")
    assert p["colour"].choices == (Colour.RED, Colour.GREEN)
    assert p["maybe"].choices == ("a", "b", None)
    assert p["maybe"].annotation == Optional[Literal["a", "b"]]  # noqa: UP045
    assert ports(spec_from_callable(scale))["factor"].choices is None


def test_annotated_metadata_gives_description_and_range():
    p = ports(spec_from_callable(bounded))
    assert p["ratio"].annotation is float
    assert p["ratio"].description == "Share of rows kept"
    assert (p["ratio"].minimum, p["ratio"].maximum) == (0.0, 1.0)
    assert (p["count"].minimum, p["count"].maximum, p["count"].annotation) == (1, 10, int)
    assert (p["window"].minimum, p["window"].maximum) == (0, 100)
    assert p["count"].description == "How many."


def test_pydantic_field_gives_description_and_range():
    level = ports(spec_from_callable(bounded))["level"]
    assert level.annotation is float
    assert level.description == "Noise level"
    assert (level.minimum, level.maximum) == (0, 5)


def test_docstring_gives_doc_and_port_descriptions():
    spec = spec_from_callable(scale)
    assert spec.doc == "Multiply every value.\n\nLonger explanation of scaling."
    assert ports(spec)["values"].description == "The numbers to scale."
    assert ports(spec)["clip"].description == "Whether to clip at one."
    assert spec.outputs[0].description == "The scaled numbers."


def test_numpy_style_docstrings_are_read():
    def smooth(data, window=3):
        """Smooth a series.

        Parameters
        ----------
        data : array_like
            The series.
        window : int
            Window length.

        Returns
        -------
        smoothed : ndarray
            The smoothed series.
        """

    spec = spec_from_callable(smooth)
    assert ports(spec)["window"].description == "Window length."
    assert spec.outputs[0].description == "The smoothed series."


# --- outputs -----------------------------------------------------------------


def test_returning_none_means_no_output():
    spec = spec_from_callable(bounded)
    assert spec.outputs == () and spec.output_style == OUTPUT_NONE


def test_a_plain_return_is_one_result_output():
    spec = spec_from_callable(scale)
    assert spec.output_style == OUTPUT_SINGLE
    assert [(p.name, p.annotation) for p in spec.outputs] == [("result", list[float])]


def test_a_namedtuple_return_gives_one_output_per_field():
    spec = spec_from_callable(split)
    assert spec.output_style == OUTPUT_ATTRIBUTES
    assert [(p.name, p.annotation) for p in spec.outputs] == [
        ("train", list[int]),
        ("test", list[int]),
    ]


def test_a_typeddict_return_gives_one_output_per_key():
    spec = spec_from_callable(summarise)
    assert spec.output_style == OUTPUT_MAPPING
    assert [(p.name, p.annotation) for p in spec.outputs] == [("mean", float), ("count", int)]


def test_named_outputs_of_a_tuple_take_the_tuple_item_types():
    spec = spec_from_callable(cut)
    assert spec.output_style == OUTPUT_SEQUENCE
    assert [(p.name, p.annotation) for p in spec.outputs] == [("head", int), ("tail", list[int])]


def test_outputs_given_as_a_dict_mean_the_function_returns_a_dict():
    spec = spec_from_callable(extremes)
    assert spec.output_style == OUTPUT_MAPPING
    assert [(p.name, p.annotation) for p in spec.outputs] == [("low", int), ("high", int)]


def test_named_outputs_of_a_typeddict_return_are_keys():
    spec = spec_from_callable(summary_by_name)
    assert spec.output_style == OUTPUT_MAPPING
    assert [(p.name, p.annotation) for p in spec.outputs] == [("mean", float), ("count", int)]


def test_a_single_output_name_renames_the_result():
    spec = spec_from_callable(renamed)
    assert spec.output_style == OUTPUT_SINGLE
    assert [(p.name, p.annotation) for p in spec.outputs] == [("table", int)]


def test_named_outputs_that_disagree_with_the_tuple_annotation_are_refused():
    @node(outputs=("a", "b", "c"))
    def two() -> tuple[int, int]:
        return 1, 2

    with pytest.raises(NodeSpecError, match="3 outputs"):
        spec_from_callable(two)


def test_named_outputs_without_annotation_are_any():
    @node(outputs=("a", "b"))
    def pair():
        return 1, 2

    spec = spec_from_callable(pair)
    assert spec.output_style == OUTPUT_SEQUENCE
    assert [(p.name, p.annotation) for p in spec.outputs] == [("a", Any), ("b", Any)]


# --- @node -------------------------------------------------------------------


def test_node_with_arguments_sets_title_and_options_and_keeps_the_function():
    assert cut([1, 2, 3]) == (1, [2, 3])
    spec = spec_from_callable(cut)
    assert spec.title == "Cut in two"
    assert spec.options == NodeOptions(retries=2, timeout=5.0, tags=("demo",))
    assert spec.func is cut


def test_bare_node_keeps_the_function_callable_and_default_options():
    assert plain_decorated(1) == 2
    assert node_metadata(plain_decorated)["options"] == NodeOptions()
    assert spec_from_callable(plain_decorated).title == "Plain decorated"


def test_node_accepts_a_timedelta_expiration():
    @node(cache_expiration=datetime.timedelta(minutes=2), cache="inputs")
    def f(x):
        return x

    assert spec_from_callable(f).options.cache_expiration == 120.0


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"cache": "sometimes"}, ValueError),
        ({"retries": -1}, ValueError),
        ({"retries": 1.5}, TypeError),
        ({"retry_delay": -0.1}, ValueError),
        ({"retry_delay": (1, -1)}, ValueError),
        ({"retry_backoff": 0}, ValueError),
        ({"timeout": 0}, ValueError),
        ({"timeout": "soon"}, TypeError),
        ({"cache_expiration": -5}, ValueError),
        ({"outputs": ("a", "a")}, ValueError),
        ({"outputs": ("not a name",)}, ValueError),
        ({"outputs": 3}, TypeError),
        ({"title": 3}, TypeError),
        ({"tags": [1]}, TypeError),
        ({"map_over": "nothing"}, ValueError),
    ],
)
def test_node_refuses_bad_arguments_clearly(arguments, error):
    with pytest.raises(error, match="@node"):

        @node(**arguments)
        def f(x):
            return x


def test_node_takes_a_delay_per_retry_and_a_backoff():
    @node(retries=3, retry_delay=[1, 5, 30], retry_backoff=2)
    def f(x):
        return x

    options = spec_from_callable(f).options
    assert (options.retry_delay, options.retry_backoff) == ((1.0, 5.0, 30.0), 2.0)


def test_node_with_a_positional_title_says_how_to_write_it():
    with pytest.raises(TypeError, match="title="):
        node("Load data")


def test_map_over_names_an_input():
    @node(map_over="path")
    def load(path: str) -> str:
        return path

    assert spec_from_callable(load).options.map_over == "path"


# --- any callable ------------------------------------------------------------


def test_pandas_read_csv():
    pandas = pytest.importorskip("pandas")
    spec = spec_from_callable(pandas.read_csv)
    assert spec.key == "pandas:read_csv" and spec.title == "Read csv"
    p = ports(spec)
    assert p["filepath_or_buffer"].required
    assert p["filepath_or_buffer"].kind == POSITIONAL_OR_KEYWORD
    assert p["sep"].kind == KEYWORD_ONLY and not p["sep"].required
    assert p["header"].default == "infer"
    assert p["skipfooter"].annotation is int and p["skipfooter"].default == 0
    assert "delimiter" in p["sep"].description.lower() or p["sep"].description
    assert spec.output_style == OUTPUT_SINGLE and spec.outputs[0].name == "result"
    assert "csv" in spec.doc.lower()


def test_sklearn_train_test_split():
    model_selection = pytest.importorskip("sklearn.model_selection")
    spec = spec_from_callable(model_selection.train_test_split)
    p = ports(spec)
    assert spec.title == "Train test split"
    assert p["arrays"].kind == VAR_POSITIONAL and not p["arrays"].wireable
    assert p["test_size"].kind == KEYWORD_ONLY and p["test_size"].default is None
    assert p["shuffle"].default is True
    assert p["arrays"].description  # numpydoc writes it as "*arrays"
    assert p["test_size"].annotation is Any


def test_numpy_linspace():
    numpy = pytest.importorskip("numpy")
    spec = spec_from_callable(numpy.linspace)
    p = ports(spec)
    assert spec.key == "numpy:linspace"
    assert p["start"].required and p["stop"].required
    assert p["num"].default == 50 and not p["num"].required
    assert p["device"].kind == KEYWORD_ONLY


def test_math_sqrt_a_builtin():
    spec = spec_from_callable(math.sqrt)
    assert spec.key == "math:sqrt"
    (x,) = spec.inputs
    assert (x.name, x.kind, x.required) == ("x", POSITIONAL_ONLY, True)
    assert spec.fingerprint


def test_a_partial_drops_bound_inputs_and_gets_a_stable_distinct_key():
    half = functools.partial(scale, factor=0.5)
    third = functools.partial(scale, factor=1 / 3)
    spec = spec_from_callable(half)
    assert spec.key.startswith(f"{__name__}:scale[partial-")
    assert spec.key == spec_from_callable(functools.partial(scale, factor=0.5)).key
    assert spec.key != spec_from_callable(third).key
    assert ports(spec)["factor"].default == 0.5
    assert ports(spec)["values"].annotation == list[float]
    assert spec.title == "Scale"
    assert spec.func is half


def test_a_lambda():
    spec = spec_from_callable(lambda a, b=2: a * b)
    assert spec.key == f"{__name__}:test_a_lambda.<locals>.<lambda>"
    assert spec.title == "Lambda"
    assert [p.name for p in spec.inputs] == ["a", "b"]


def test_a_bound_method_skips_self():
    scaler = Scaler(3.0)
    spec = spec_from_callable(scaler.apply)
    assert spec.key == f"{__name__}:Scaler.apply"
    assert [p.name for p in spec.inputs] == ["x", "offset"]
    assert ports(spec)["x"].annotation is float
    assert spec.outputs[0].annotation is float


def test_a_callable_instance():
    spec = spec_from_callable(Scaler())
    assert spec.key == f"{__name__}:Scaler.__call__"
    assert spec.title == "Scaler"
    assert [(p.name, p.annotation) for p in spec.inputs] == [("x", float)]
    assert spec.outputs[0].annotation is float


def test_a_class_makes_an_instance():
    spec = spec_from_callable(Scaler)
    assert spec.key == f"{__name__}:Scaler"
    assert [(p.name, p.annotation, p.default) for p in spec.inputs] == [("factor", float, 2.0)]
    assert spec.outputs[0].annotation is Scaler
    assert spec.doc == "Scales by a fixed factor."


def test_an_unreadable_signature_names_the_callable_and_says_to_wrap_it():
    with pytest.raises(NodeSpecError, match=r"builtins:max.*[Ww]rap it in a plain Python function"):
        spec_from_callable(max)


def test_a_signature_that_raises_is_a_node_spec_error():
    class Broken:
        @property
        def __signature__(self):
            raise RuntimeError("no signature for you")

        def __call__(self, x):
            return x

    with pytest.raises(NodeSpecError, match="Broken") as caught:
        spec_from_callable(Broken())
    assert isinstance(caught.value, ValueError)


def test_something_not_callable_is_refused():
    with pytest.raises(NodeSpecError, match="not callable"):
        spec_from_callable(42)
