"""Saving, reopening, flows, drafts, clipboard across flows and library reloads."""

import textwrap

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QTabBar

from plait.runtime.flow.model import Edge
from plait.runtime.workspace.store import Workspace
from tests.app.conftest import LIBRARY, add, content, wire


def _small_flow(window):
    load = add(window, "load", 0, 0)
    count = add(window, "count", 300, 0)
    scale = add(window, "scale", 300, 200)
    wire(window, load, "result", count, "items")
    window.document.set_value(scale, "x", 2.5)
    return load, count, scale


def test_save_close_and_reopen_gives_an_equal_flow(make_window, workspace_folder):
    window = make_window(workspace_folder)
    _small_flow(window)
    window.scene.select_nodes(list(window.document.flow.nodes)[:2])
    window.editing.frame_selection()
    saved = content(window)
    flow_id = window.document.flow.id
    assert window.workspaces.save()
    assert window.close()
    again = make_window(workspace_folder)
    assert again.document.flow.id == flow_id
    assert content(again) == saved
    assert not again.isWindowModified()
    assert len(again.scene.frames) == 1


def test_ctrl_s_saves_a_new_version_and_the_flows_dock_lists_it(window):
    _small_flow(window)
    window.actions_by_name["save"].trigger()
    add(window, "label", 0, 400)
    window.actions_by_name["save"].trigger()
    flow_id = window.document.flow.id
    assert [v.version for v in window.workspace.versions(flow_id)] == [1, 2]
    item = window.flows_dock.tree.topLevelItem(0)
    assert item.text(0) == window.document.flow.name and item.childCount() == 2


def test_an_old_version_opens_read_only(window):
    _small_flow(window)
    window.workspaces.save()
    add(window, "label", 0, 400)
    window.workspaces.save()
    flow_id = window.document.flow.id
    window.flows_dock.version_requested.emit(flow_id, 1)
    assert window.document.read_only and window.document.flow.version == 1
    assert "read-only" in window.windowTitle()
    assert len(window.document.flow.nodes) == 3
    assert window.document.create_node("nodes.py:count", (0, 0)) is None
    assert len(window.document.flow.nodes) == 3


def test_copy_paste_keeps_the_wires_inside_the_selection_only(window):
    load, count, scale = _small_flow(window)
    window.document.connect(Edge(count, "result", scale, "factor"))
    window.scene.select_nodes([load, count])
    window.editing.copy_selection()
    window.editing.paste()
    flow = window.document.flow
    assert len(flow.nodes) == 5
    new = set(window.scene.selected_node_ids())
    assert len(new) == 2 and not new & {load, count, scale}
    new_edges = [e for e in flow.edges if e.source in new or e.target in new]
    assert len(new_edges) == 1
    [edge] = new_edges
    assert (edge.source_port, edge.target_port) == ("result", "items")
    assert edge.source in new and edge.target in new


def test_paste_works_across_flows(window):
    load, count, _ = _small_flow(window)
    window.workspaces.save()
    window.scene.select_nodes([load, count])
    window.editing.copy_selection()
    window.workspaces.new_flow()
    assert window.document.flow.nodes == {}
    window.editing.paste()
    flow = window.document.flow
    assert sorted(n.spec_key for n in flow.nodes.values()) == ["nodes.py:count", "nodes.py:load"]
    assert len(flow.edges) == 1


def test_duplicate_places_a_copy_beside_the_original(window):
    _, _, scale = _small_flow(window)
    window.scene.select_nodes([scale])
    window.editing.duplicate()
    [copy] = window.scene.selected_node_ids()
    flow = window.document.flow
    assert flow.nodes[copy].values == {"x": 2.5}
    assert flow.nodes[copy].position == (340.0, 240.0)


def test_closing_with_unsaved_changes_asks_and_cancel_keeps_the_window(window):
    add(window, "count", 0, 0)
    asked = []
    window.questions.ask_save_changes = lambda: asked.append(1) or "cancel"
    assert not window.close()
    assert asked and window.isVisible()
    window.questions.ask_save_changes = lambda: "save"
    assert window.close()
    with Workspace(window.settings.value("recent_workspaces")[0]) as ws:
        assert len(ws.load_flow(ws.flows()[0].id).nodes) == 1


def test_after_a_crash_the_next_launch_offers_the_recovery_draft(make_window, workspace_folder):
    window = make_window(workspace_folder)
    _small_flow(window)
    window.workspaces.write_draft()  # what the autosave timer does shortly after each edit
    expected = content(window)
    # A crash: the process dies with the draft on disk and nothing saved. (The
    # crashed window is left as it is; a second one opens the workspace.)
    again = make_window(workspace_folder, restore_drafts=True)
    assert again.offered_drafts == [window.document.flow.name]
    assert content(again) == expected
    assert again.isWindowModified()


def test_a_changed_library_file_updates_the_palette_and_the_nodes_ports(window):
    _, _, scale = _small_flow(window)
    load = next(n for n in window.document.flow.nodes if n.startswith("load"))
    count = next(n for n in window.document.flow.nodes if n.startswith("count"))
    changed = LIBRARY.replace(
        "def scale(x: float, factor: float = 2.0)",
        "def scale(x: float, factor: float = 2.0, offset: float = 0.0)",
    )
    changed = changed.replace("def count(items: list)", "def count(things: list)")
    changed += textwrap.dedent('''

        def mean(values: list) -> float:
            """The average of values."""
            return sum(values) / len(values)
    ''')
    (window.workspace.folder / "nodes.py").write_text(changed)
    assert window.workspaces.reload_libraries() == ["nodes.py"]
    assert "nodes.py:mean" in window.palette_widget.keys()
    ports = [s.name for s in window.scene.nodes[scale].layout.inputs]
    assert ports == ["x", "factor", "offset"]
    # The wire into the vanished `items` input is kept, drawn as broken.
    edge = Edge(load, "result", count, "items")
    assert edge in window.document.flow.edges
    assert window.scene.edges[edge].broken
    assert any(s.ghost for s in window.scene.nodes[count].layout.inputs)
    assert any("no longer has" in p.message for p in window.problems)


def test_a_library_file_change_on_disk_is_noticed_by_the_watcher(window, qtbot):
    path = window.workspace.folder / "extra.py"
    path.write_text("def shout(text: str) -> str:\n    return text.upper()\n")
    qtbot.waitUntil(lambda: "extra.py:shout" in window.palette_widget.keys(), timeout=5000)


def test_a_library_that_fails_to_import_is_listed_with_its_error(window):
    (window.workspace.folder / "broken.py").write_text("def oops(:\n    pass\n")
    window.workspaces.reload_libraries()
    palette = window.palette_widget
    assert any("broken.py" in name for name in palette.failed())
    assert "nodes.py:count" in palette.keys()  # the others still load
    group = next(
        palette.tree.topLevelItem(i)
        for i in range(palette.tree.topLevelItemCount())
        if "broken.py" in palette.tree.topLevelItem(i).text(0)
    )
    palette.tree.setCurrentItem(group)
    assert "SyntaxError" in palette.error.toPlainText()


def test_flows_dock_renames_duplicates_and_deletes_with_confirmation(window):
    _small_flow(window)
    window.workspaces.save()
    flow_id = window.document.flow.id
    window.workspaces.rename_flow_to(flow_id, "Counting")
    assert window.workspace.flow_info(flow_id).name == "Counting"
    assert "Counting" in window.windowTitle()
    window.workspaces.duplicate_flow(flow_id)
    names = sorted(f.name for f in window.workspace.flows())
    assert names == ["Counting", "Counting copy"]
    window.questions.confirm = lambda title, text: False
    window.workspaces.delete_flow(flow_id)
    assert len(window.workspace.flows()) == 2
    window.questions.confirm = lambda title, text: True
    window.workspaces.delete_flow(flow_id)
    assert [f.name for f in window.workspace.flows()] == ["Counting copy"]
    assert window.document.flow.id != flow_id


def test_geometry_and_recent_workspaces_are_remembered(
    make_window, workspace_folder, tmp_path, settings, qtbot
):
    from plait.app.window import MainWindow

    window = make_window(workspace_folder)
    window.resize(701, 503)  # inside the offscreen screen (800x800)
    window.close()
    fresh = MainWindow(settings)
    qtbot.addWidget(fresh)
    assert (fresh.width(), fresh.height()) == (701, 503)
    again = make_window(workspace_folder)
    assert again.workspaces.recent_workspaces()[0] == str(workspace_folder.resolve())
    other = tmp_path / "other"
    again.open_workspace(other)
    assert again.workspaces.recent_workspaces()[:2] == [str(other.resolve()), str(workspace_folder.resolve())]
    assert again.document.flow.nodes == {}


def test_the_window_opens_on_a_folder_like_plait_path(workspace_folder, settings, qtbot):
    from plait.app.main import open_window

    window = open_window(workspace_folder, settings)
    qtbot.addWidget(window)
    window.questions.ask_save_changes = lambda: "discard"
    assert window.workspace.folder == workspace_folder.resolve()
    assert window.actions_by_name["run"].isEnabled()
    assert window.actions_by_name["run"].shortcut().toString() == "F5"


def test_a_flow_saved_for_the_first_time_can_be_scheduled_at_once(window):
    add(window, "count", 0, 0)
    tabs = next(
        bar
        for bar in window.findChildren(QTabBar)
        if "Schedules" in [bar.tabText(i) for i in range(bar.count())]
    )
    index = [tabs.tabText(i) for i in range(tabs.count())].index("Schedules")
    QTest.mouseClick(tabs, Qt.LeftButton, Qt.NoModifier, tabs.tabRect(index).center())
    button = window.schedules_dock.add_button
    assert button.isVisible() and not button.isEnabled()  # never saved: nothing to schedule
    QTest.keySequence(window.view, QKeySequence.Save)
    assert window.workspace.flow_info(window.document.flow.id).latest_version == 1
    assert button.isEnabled()
    QTest.mouseClick(button, Qt.LeftButton)
    dialog = window.schedules.schedule_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.windowTitle() == f"Schedule {window.document.flow.name}"
    dialog.reject()


def test_a_library_error_fits_the_palette_and_never_draws_over_the_rest(window):
    QApplication.processEvents()
    dock_width, view_width = window.palette_dock.width(), window.view.width()
    name = "customer_segmentation_feature_engineering_helpers.py"
    (window.workspace.folder / name).write_text("def oops(:\n    pass\n")
    window.workspaces.reload_libraries()
    palette = window.palette_widget
    [group] = [
        palette.tree.topLevelItem(i)
        for i in range(palette.tree.topLevelItemCount())
        if name in palette.tree.topLevelItem(i).text(0)
    ]
    assert name in group.toolTip(0) and "SyntaxError" in group.toolTip(0)
    palette.tree.scrollToItem(group)
    QTest.mouseClick(
        palette.tree.viewport(), Qt.LeftButton, Qt.NoModifier, palette.tree.visualItemRect(group).center()
    )
    QApplication.processEvents()
    assert palette.error.isVisible() and "SyntaxError" in palette.error.toPlainText()
    # The long name is shortened to the dock's width, whole in the tooltip; the dock keeps its width.
    title = palette.error_title
    assert title.toolTip() == f"Why {name} did not load:"
    assert "…" in title.text() and title.fontMetrics().horizontalAdvance(title.text()) <= title.width()
    assert (window.palette_dock.width(), window.view.width()) == (dock_width, view_width)
    parts = [palette.search, palette.tree, title, palette.error]
    for i, part in enumerate(parts):
        assert palette.rect().contains(part.geometry())
        assert not any(part.geometry().intersects(other.geometry()) for other in parts[i + 1 :])
    dock = window.palette_dock.geometry()
    assert not dock.intersects(window.centralWidget().geometry())
