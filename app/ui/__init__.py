"""The desktop app: PySide6 views over app.core. The only Qt code in Hearth."""
