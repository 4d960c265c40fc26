"""The window's side of trust: a restricted workspace is shown, never run, until trusted.

The window decides when a workspace opens (see `plait.runtime.workspace.trust`):
a trusted one loads its libraries in the library process; any other folder
with code opens restricted. Restricted, the palette and the canvas come from
reading the source; runs, schedules, output previews and the cache explainer
are off, each control saying why; the banner offers Trust / Stay restricted,
and File > Trust this workspace stays available after "Stay restricted".
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject

from plait.runtime.nodes.loader import workspace_sources
from plait.runtime.nodes.reading import imported_modules
from plait.runtime.workspace import trust

RESTRICTED_TIP = (
    "This workspace's code has not run on this computer: trust it first (File > Trust this workspace)"
)
# Actions that would run the workspace's code, and what each says when it works.
_GATED = ("run", "run_file", "schedules")


class TrustControl(QObject):
    """Owns the banner and the restricted state of the window's workspace."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.restricted = False
        self._tips = {name: window.actions_by_name[name].toolTip() for name in _GATED}
        window.trust_banner.trust_requested.connect(self.trust_now)
        window.trust_banner.stay_requested.connect(self.stay_restricted)

    def loader_for(self, folder: Any) -> str:
        """How the window loads this folder's libraries: read only, or in the library process."""
        self.restricted = trust.needs_trust(folder)
        return "read" if self.restricted else "process"

    def apply(self) -> None:
        """Show the banner and switch the controls that run code to match the state."""
        window = self.window
        banner = window.trust_banner
        if self.restricted and window.workspace is not None:
            folder = window.workspace.folder
            sources = workspace_sources(folder)
            banner.show_for(
                [p.relative_to(folder).as_posix() for p in sources], imported_modules(sources, folder)
            )
        else:
            banner.hide()
        for name in _GATED:
            action = window.actions_by_name[name]
            action.setEnabled(not self.restricted)
            action.setToolTip(RESTRICTED_TIP if self.restricted else self._tips[name])
        window.actions_by_name["trust"].setVisible(self.restricted)
        window.actions_by_name["trust"].setEnabled(self.restricted)
        window.schedules_dock.setEnabled(not self.restricted)
        window.schedules_dock.setToolTip(RESTRICTED_TIP if self.restricted else "")
        window.outputs_dock.setToolTip(RESTRICTED_TIP if self.restricted else "")
        window.runs.set_allow_pickle(not self.restricted)

    def refuse(self) -> bool:
        """True (and says why) when the workspace is restricted: callers then do nothing."""
        if self.restricted:
            self.window.show_message("Not run: " + RESTRICTED_TIP[0].lower() + RESTRICTED_TIP[1:])
        return self.restricted

    def stay_restricted(self) -> None:
        self.window.trust_banner.hide()
        self.window.show_message(
            "Restricted: nothing of this workspace runs. File > Trust this workspace to run it"
        )

    def trust_now(self) -> None:
        """Trust the open workspace: remember it, load its code in the library process, allow runs."""
        window = self.window
        if window.workspace is None or not self.restricted:
            return
        trust.trust(window.workspace.folder)
        self.restricted = False
        window.reload_catalog("process")
        self.apply()
        window.start_scheduler()
        window.refresh_schedules()
        window.explainer.schedule()
        if window.outputs_dock.node_id is not None:
            window.show_outputs(window.outputs_dock.node_id)
        window.show_message(f"Trusted {window.workspace.folder}: its code runs in Plait from now on")
