"""Output values are prepared off the GUI thread and shown by the viewer that fits them."""

import numpy
import pandas
import pytest

from plait.widgets.outputs_dock import OutputsDock, PortInfo
from plait.widgets.previews import ARRAY, DATAFRAME, IMAGE, REPR, TEXT, TREE, prepare
from plait.widgets.viewers import FIRST_ROWS, FrameModel, ImageViewer, TreeViewer, make_viewer


def test_a_big_dataframe_loads_its_first_rows_then_more_on_scroll(qtbot):
    frame = pandas.DataFrame({"a": range(25_000), "b": [0.5] * 25_000})
    preview = prepare(frame)
    assert preview.kind == DATAFRAME
    assert preview.description.startswith("25,000 rows × 2 columns — a: int64, b: float64")
    view = make_viewer(preview)
    qtbot.addWidget(view)
    model = view.model()
    assert isinstance(model, FrameModel)
    assert (model.rowCount(), model.columnCount()) == (FIRST_ROWS, 2)
    assert model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == 20_000
    assert model.data(model.index(19_999, 0)) == "19999"


def test_arrays_images_figures_containers_text_and_the_rest(qtbot):
    assert prepare(numpy.arange(12).reshape(3, 4)).kind == ARRAY
    picture = numpy.zeros((32, 48, 3), dtype="uint8")
    image = prepare(picture)
    assert image.kind == IMAGE and image.png.startswith(b"\x89PNG")
    assert isinstance(make_viewer(image), ImageViewer)
    from PIL import Image

    assert prepare(Image.new("RGB", (20, 10))).kind == IMAGE
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure()
    figure.add_subplot().plot([1, 2, 3])
    shown = prepare(figure)
    assert shown.kind == IMAGE and shown.png.startswith(b"\x89PNG")
    tree = prepare({"a": [1, 2, {"b": 3}], 4: "four"})
    assert tree.kind == TREE
    viewer = make_viewer(tree)
    qtbot.addWidget(viewer)
    assert isinstance(viewer, TreeViewer)
    first = viewer.topLevelItem(0)
    assert first.text(0) == "a" and first.isExpanded()
    inner = first.child(2)
    inner.setExpanded(True)  # its children are built when it is opened
    assert inner.child(0).text(0) == "b"
    assert prepare("hello").kind == TEXT and prepare(3.5).text == "3.5"
    odd = prepare(object())
    assert odd.kind == REPR and "object" in odd.text


@pytest.mark.parametrize("value", [object(), b"\x00" * 10])
def test_any_value_gets_a_viewer(qtbot, value):
    view = make_viewer(prepare(value))
    qtbot.addWidget(view)


def test_the_dock_asks_for_a_value_once_per_port_and_shows_where_it_came_from(qtbot):
    dock = OutputsDock()
    qtbot.addWidget(dock)
    asked = []
    dock.load_requested.connect(asked.append)
    dock.show_node(
        "n",
        "<b>Node</b>",
        [PortInfo("left", "3 rows", "computed by run abc"), PortInfo("right", "text", "from the cache")],
    )
    assert asked == ["left"]
    dock.tabs.setCurrentIndex(1)
    dock.tabs.setCurrentIndex(0)
    assert asked == ["left", "right"]
    dock.show_preview("n", "left", prepare(pandas.DataFrame({"x": [1, 2, 3]})))
    tab = dock.tab_by_port["left"]
    assert tab.origin.text() == "computed by run abc"
    assert tab.viewer.model().rowCount() == 3 and tab.save_button.isEnabled()
    saved = []
    dock.save_requested.connect(lambda port, path: saved.append((port, path)))
    dock.ask_save_path = lambda port: "/tmp/out.csv"
    tab.save_button.click()
    assert saved == [("left", "/tmp/out.csv")]
