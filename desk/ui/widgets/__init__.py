"""desk's widgets, one a module. Live widgets are Line-API ``LineWidget`` subclasses fed by the app's tick."""
