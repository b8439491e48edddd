"""Screens pushed over the desk's main screen."""
