"""The open flow's objects are kept out of the garbage collector's walks, and freed with the flow."""

import gc
import weakref

from tests.app.conftest import add


def test_an_open_flow_is_frozen_out_of_collections_and_freed_when_another_opens(qtbot, window):
    add(window, "load", 0, 0)
    qtbot.waitUntil(lambda: gc.get_freeze_count() > 0)  # a full collection would skip it all
    item = next(iter(window.scene.nodes.values()))
    old_scene, old_item = weakref.ref(window.scene), weakref.ref(item)
    del item
    window.actions_by_name["new_flow"].trigger()
    assert window.scene is not old_scene()
    # The old scene and its items hold each other: only a collection frees them, made once
    # the new flow is shown.
    qtbot.waitUntil(lambda: old_scene() is None and old_item() is None)
    assert gc.get_freeze_count() > 0
