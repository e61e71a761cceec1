"""avin's terminal front: the Textual app, its screens and panes, and the ``avin`` command."""
