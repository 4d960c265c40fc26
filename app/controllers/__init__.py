"""The window's controllers: each owns one side of what the window does.

`MainWindow` builds the docks, menus and these controllers, hands each the
widgets and the shared `Session` it needs, and wires their signals. No
controller holds the window; what they share is in the `Session` (the open
workspace, its catalog, the flow document and its scene) and the `Questions`
(every dialog that waits for an answer, which tests answer in code).

- `workspace`: open folders and flows, save, drafts, library reloads.
- `editing`: clipboard, delete, auto-layout, frames and comments.
- `running`: Run (F5), the parameter dialog, Stop (Esc), the status bar, the node menu.
- `history`: the runs dock, the shown run's states, logs, timeline and outputs.
- `schedules`: the schedules dock, and running due slots while the window is open.
- `export`: File > Export and Import.
- `ports`: an output port's menu on the canvas (Split by key, Join keys).
- `ports`: an output port's menu on the canvas (Split by key, Join keys).
- `trust`: a restricted workspace is shown, never run, until trusted.
"""
