"""The logs dock keeps up with 100,000 lines and filters them by node, level and text."""

from PySide6.QtWidgets import QApplication

from plait.widgets.logs_dock import LogsDock


def lines(count: int, nodes=("a", "b", "c")) -> list[tuple]:
    levels = ("INFO", "INFO", "WARNING", "ERROR")
    return [
        (1_700_000_000 + i / 1000, nodes[i % len(nodes)], levels[i % 4], "stdout", f"line {i}")
        for i in range(count)
    ]


def test_a_hundred_thousand_lines_are_rows_of_one_model_not_widgets(qtbot):
    dock = LogsDock()
    qtbot.addWidget(dock)
    dock.set_lines([], {"a": "Load", "b": "Clean", "c": "Plot"})
    for start in range(0, 100_000, 5_000):
        dock.append([(t, n, lv, s, f"line {start + i}") for i, (t, n, lv, s, _) in enumerate(lines(5_000))])
    qtbot.waitUntil(lambda: dock.model.rowCount() == 100_000)
    assert dock.table.findChildren(type(dock.table.viewport()))[:1]  # one viewport paints them
    assert dock.count_label.text() == "100,000 lines"
    index = dock.model.index(3, 1)
    assert dock.model.data(index) == "Load"


def test_filters_by_node_level_and_text_combine(qtbot):
    dock = LogsDock()
    qtbot.addWidget(dock)
    dock.set_lines(lines(1_000), {"a": "Load", "b": "Clean", "c": "Plot"})
    dock.set_node_filter(["a"], "Load")
    assert dock.model.rowCount() == 334
    assert dock.node_label.text() == "Load"
    dock.level.setCurrentIndex(dock.level.findData(30))  # warnings and errors
    assert all(dock.model.line(r)[2] in ("WARNING", "ERROR") for r in range(dock.model.rowCount()))
    dock.search.setText("line 99")
    qtbot.waitUntil(lambda: dock.model.rowCount() < 20)
    assert all("line 99" in m for m in dock.shown_messages())
    dock.clear_node_filter()
    dock.search.setText("")
    dock.level.setCurrentIndex(0)
    qtbot.waitUntil(lambda: dock.model.rowCount() == 1_000)


def test_new_lines_follow_the_filter_and_copy_takes_whole_lines(qtbot):
    dock = LogsDock()
    qtbot.addWidget(dock)
    dock.set_lines([], {"a": "Load"})
    dock.set_node_filter(["a"], "Load")
    dock.append(lines(9))
    assert dock.shown_messages() == ["line 0", "line 3", "line 6"]
    dock.copy()
    text = QApplication.clipboard().text().splitlines()
    assert len(text) == 3 and text[1].endswith("line 3") and "Load" in text[1]


def test_lines_sent_one_at_a_time_join_the_table_in_a_few_batches_in_their_order(qtbot):
    dock = LogsDock()
    qtbot.addWidget(dock)
    dock.resize(600, 300)
    dock.show()
    dock.set_lines([], {"a": "Load", "b": "Clean", "c": "Plot"})
    insertions = []
    dock.model.rowsInserted.connect(lambda parent, first, last: insertions.append(last - first + 1))
    sent = lines(2_000)
    for turn in range(40):
        for line in sent[turn * 50 : (turn + 1) * 50]:
            dock.append([line])  # one call per line, as a chatty source would make them
        QApplication.processEvents()
    qtbot.waitUntil(lambda: dock.model.rowCount() == 2_000)
    # At most one insertion per turn of the event loop, usually one per flush: never one per line.
    assert sum(insertions) == 2_000 and len(insertions) <= 40
    assert [dock.model.line(r)[4] for r in range(2_000)] == [f"line {i}" for i in range(2_000)]
    assert dock.count_label.text() == "2,000 lines"
    last = dock.table.visualRect(dock.model.index(1_999, 0))
    assert dock.table.viewport().rect().intersects(last)  # following: the newest line is in view


def test_showing_other_lines_drops_the_ones_still_waiting(qtbot):
    dock = LogsDock()
    qtbot.addWidget(dock)
    dock.set_lines([], {})
    dock.append(lines(10))
    dock.set_lines(lines(3), {})  # another run shown: its lines are the whole of them
    qtbot.wait(250)
    assert dock.shown_messages() == ["line 0", "line 1", "line 2"]
