"""Log files without Textual: a line index, search, filters, entry parsing, the run's files.

Everything here works on a file of any size without reading it into memory: :class:`LineIndex`
holds one offset per line (8 bytes) and reads lines on demand; search and filters scan the file in
blocks and yield line numbers in batches. The widgets in ``avin_tui.widgets.log_view`` only ask for
the lines on screen.
"""
