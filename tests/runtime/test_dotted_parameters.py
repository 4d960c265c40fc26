"""`--param options.test_size=0.3`: one key of a dict parameter at a time."""

import pytest

from plait.runtime.engine.plan import ParameterError, coerce_parameters
from plait.runtime.flow.model import Flow


@pytest.fixture
def flow():
    flow = Flow("model")
    flow.add_parameter("options", "dict", {"test_size": 0.2, "kernel": "rbf", "grid": {"c": 1}})
    flow.add_parameter("n", "int", 3)
    flow.add_parameter("extra", "dict")
    return flow


def test_a_dotted_name_sets_one_key_on_top_of_the_default(flow):
    values, plain = coerce_parameters(
        flow, {"options.test_size": "0.3", "options.grid.c": "10", "extra": "{}"}, from_text=True
    )
    assert values["options"] == {"test_size": 0.3, "kernel": "rbf", "grid": {"c": 10}}
    assert plain["options"] == values["options"]
    assert flow.parameters()[2].default == {"test_size": 0.2, "kernel": "rbf", "grid": {"c": 1}}


def test_text_keys_stay_text_where_the_default_holds_text(flow):
    values, _ = coerce_parameters(flow, {"options.kernel": "1", "extra": "{}"}, from_text=True)
    assert values["options"]["kernel"] == "1"
    values, _ = coerce_parameters(flow, {"options.new": "linear", "extra": "{}"}, from_text=True)
    assert values["options"]["new"] == "linear"


def test_dotted_names_go_on_top_of_a_given_value_and_build_a_required_one(flow):
    given = {"options": '{"kernel": "poly"}', "options.test_size": "0.5", "extra.depth": "4"}
    values, _ = coerce_parameters(flow, given, from_text=True)
    assert values["options"] == {"kernel": "poly", "test_size": 0.5}
    assert values["extra"] == {"depth": 4}


def test_a_dotted_name_on_what_is_not_a_dict_is_refused_saying_why(flow):
    with pytest.raises(ParameterError) as refused:
        coerce_parameters(flow, {"n.x": "1", "nope.x": "2", "options.kernel.deep": "3"}, from_text=True)
    text = str(refused.value)
    assert "parameter 'n' is int, so 'n.x' names no key in it" in text
    assert "flow 'model' has no parameter 'nope.x'" in text
    assert "'options.kernel.deep' goes through 'rbf', which is not a dict" in text
