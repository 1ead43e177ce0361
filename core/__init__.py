"""The shared vocabulary at the bottom of the project: every other package may import it, it imports none.

`Face` (the record that flows through every stage), the label set, box geometry, the square crop the
classifier sees, frame conversion, the user-facing errors, the one `AppConfig`, the Detector/Classifier
protocols the pipeline composes, YOLO label files and the project's paths. Only NumPy and OpenCV below it.
"""
