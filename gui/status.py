"""How long the status bar shows a message: a hint is read at a glance, a problem may need a second look."""
STATUS_HINT_MS = 3000      # "Open a camera or video first."
STATUS_DONE_MS = 5000      # "Saved ...", "Recording to ..."
STATUS_PROBLEM_MS = 10000  # a save or a recording that failed, with what to do
