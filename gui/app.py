"""Start the Qt application and the main window."""
from __future__ import annotations

import os
import sys

SIGNAL_POLL_MS = 200  # how often Qt's event loop lets Python run its signal handlers


def free_qt_from_opencv() -> None:
    """opencv-python points QT_QPA_PLATFORM_PLUGIN_PATH at its own Qt plugins when imported; PyQt6 then
    loads cv2's incompatible xcb plugin and cannot open a window. Undo that before QApplication exists."""
    import cv2
    cv2_dir = os.path.dirname(os.path.abspath(cv2.__file__))
    if os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").startswith(cv2_dir):
        del os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"]


def run_gui(args, config) -> int:
    free_qt_from_opencv()
    from PyQt6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.settings import APPLICATION, ORGANIZATION, open_settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    source = args.source if args.source else (str(args.camera) if args.camera is not None else None)
    overridden = {name for name, value in (("crop_scale", args.crop_scale), ("detection_confidence", args.confidence))
                  if value is not None}
    if args.no_smoothing:
        overridden.add("smoothing")
    window = MainWindow(config, open_settings(), initial_source=source, overridden=overridden,
                        exit_after_frames=args.exit_after_frames)
    window.show()
    quit_on_signals(window)
    return app.exec()


def quit_on_signals(window) -> dict:
    """Ctrl-C (SIGINT), SIGTERM and SIGHUP close the window like its Quit action: the recording in progress is
    finished and the settings are saved, instead of a KeyboardInterrupt traceback and an abort.

    Python runs signal handlers only between bytecodes, and Qt's event loop is C++: a timer owned by the
    window hands control back to Python every SIGNAL_POLL_MS. Returns the handlers it replaced.
    """
    from PyQt6.QtCore import QTimer
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(SIGNAL_POLL_MS)
    from core.cli import catch_exit_signals
    return catch_exit_signals(lambda *_: window.close())
