"""Services (managers) that hold the decisions; routes and UI callbacks only translate."""
