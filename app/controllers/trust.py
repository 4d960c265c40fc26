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

from PySide6.QtCore import QObject, Signal

from plait.runtime.nodes.loader import workspace_sources
from plait.runtime.nodes.reading import imported_modules
from plait.runtime.workspace import trust

RESTRICTED_TIP = (
    "This workspace's code has not run on this computer: trust it first (File > Trust this workspace)"
)
# Actions that would run the workspace's code, and what each says when it works.
_GATED = ("run", "run_file", "schedules")


class TrustControl(QObject):
    """Owns the banner and the restricted state of the session's workspace."""

    trusted = Signal()  # the person trusted the open workspace: load its code, allow runs

    def __init__(self, session, banner, actions: dict, schedules_dock, outputs_dock, runs, parent) -> None:
        super().__init__(parent)
        self.session = session
        self.banner = banner
        self.actions = actions
        self.schedules_dock = schedules_dock  # off while restricted, saying why
        self.outputs_dock = outputs_dock  # previews off while restricted, saying why
        self.runs = runs
        self.restricted = False
        self._tips = {name: actions[name].toolTip() for name in _GATED}
        banner.trust_requested.connect(self.trust_now)
        banner.stay_requested.connect(self.stay_restricted)

    def loader_for(self, folder: Any) -> str:
        """How the window loads this folder's libraries: read only, or in the library process."""
        self.restricted = trust.needs_trust(folder)
        return "read" if self.restricted else "process"

    def apply(self) -> None:
        """Show the banner and switch the controls that run code to match the state."""
        workspace = self.session.workspace
        if self.restricted and workspace is not None:
            folder = workspace.folder
            sources = workspace_sources(folder)
            self.banner.show_for(
                [p.relative_to(folder).as_posix() for p in sources], imported_modules(sources, folder)
            )
        else:
            self.banner.hide()
        for name in _GATED:
            action = self.actions[name]
            action.setEnabled(not self.restricted)
            action.setToolTip(RESTRICTED_TIP if self.restricted else self._tips[name])
        self.actions["trust"].setVisible(self.restricted)
        self.actions["trust"].setEnabled(self.restricted)
        self.schedules_dock.setEnabled(not self.restricted)
        self.schedules_dock.setToolTip(RESTRICTED_TIP if self.restricted else "")
        self.outputs_dock.setToolTip(RESTRICTED_TIP if self.restricted else "")
        self.runs.set_allow_pickle(not self.restricted)

    def refuse(self) -> bool:
        """True (and says why) when the workspace is restricted: callers then do nothing."""
        if self.restricted:
            self.session.say("Not run: " + RESTRICTED_TIP[0].lower() + RESTRICTED_TIP[1:])
        return self.restricted

    def stay_restricted(self) -> None:
        self.banner.hide()
        self.session.say("Restricted: nothing of this workspace runs. File > Trust this workspace to run it")

    def trust_now(self) -> None:
        """Trust the open workspace: remember it; the window then loads its code and allows runs."""
        workspace = self.session.workspace
        if workspace is None or not self.restricted:
            return
        trust.trust(workspace.folder)
        self.restricted = False
        self.trusted.emit()
        self.session.say(f"Trusted {workspace.folder}: its code runs in Plait from now on")
