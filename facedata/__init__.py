"""The public face datasets both models learn from: readers (`facedata.datasets.read_training_sources`) and the
fixed held-out split (`facedata.datasets.split_name`). Below the models' training tools, so detection and
classification can both read the same faces and the same split without importing each other."""
