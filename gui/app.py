"""Start the Qt application and the main window."""
from __future__ import annotations

import os
import sys


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
    return app.exec()
