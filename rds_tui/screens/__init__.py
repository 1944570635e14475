"""Dashboard screens, one per module. Screens never speak HTTP: they call the client core."""
