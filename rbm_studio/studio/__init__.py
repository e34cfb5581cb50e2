"""The application layer: what the studio keeps and does for a musician, without Qt (the window
drives it from worker threads; import-linter keeps PySide6 and pyqtgraph out)."""
