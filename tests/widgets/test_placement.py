"""Where a node goes when nobody points at a spot."""

from plait.widgets.canvas.placement import GAP, around, beside

SIZE = (184.0, 60.0)


def test_beside_goes_right_of_the_selection_level_with_its_top():
    assert beside((0, 0, 184, 60), SIZE, [(0, 0, 184, 60)]) == (184 + GAP, 0)


def test_beside_steps_round_a_node_in_the_way_and_keeps_the_gap():
    taken = [(0, 0, 184, 60), (184 + GAP, 0, 184, 60)]
    x, y = beside((0, 0, 184, 60), SIZE, taken)
    assert x >= 184 + GAP
    assert y >= 60 + GAP or y + 60 + GAP <= 0


def test_around_keeps_the_middle_when_it_is_free_and_moves_off_a_node_when_not():
    assert around((500, 300), SIZE, []) == (500 - 92, 300 - 30)
    x, y = around((500, 300), SIZE, [(408, 270, 184, 60)])
    assert not (x < 408 + 184 + GAP and 408 < x + 184 + GAP and y < 270 + 60 + GAP and 270 < y + 60 + GAP)
