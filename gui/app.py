"""Start the Qt application and the main window."""
from __future__ import annotations

import sys

import runtime


def run_gui(args, config) -> int:
    runtime.import_torch()  # torch before anything that may load TensorFlow (see runtime.py)
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
