"""PyQt6 front end: a main window and the worker thread that runs the Qt-free pipeline."""
