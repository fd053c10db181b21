"""Rule data shipped inside the wheel (read with importlib.resources)."""
