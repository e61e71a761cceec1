"""Screens: the main five-pane screen, help, and the quit confirmation."""
