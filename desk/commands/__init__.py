"""Headless commands. Each module defines ``register(app)`` and imports heavy modules inside the command body,
so ``desk --help`` stays fast and no headless command imports Textual."""
