import os

# Every test runs without a display; Qt draws into memory.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
# Trusted folders and other user config go to a scratch folder, not the user's own.
if "PLAIT_CONFIG_DIR" not in os.environ:
    import tempfile

    os.environ["PLAIT_CONFIG_DIR"] = tempfile.mkdtemp(prefix="plait-config-")


def pytest_sessionfinish(session, exitstatus):
    # Data a test copied to the clipboard is owned by Qt's clipboard, which Qt
    # deletes after Python has shut down, crashing the process at exit. Clear it.
    import sys

    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.clipboard().clear()
