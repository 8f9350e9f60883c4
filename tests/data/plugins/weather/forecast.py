"""A stand-in forecast: deterministic, so tests can assert on it."""


def forecast_for(city: str, units: str) -> str:
    degrees = "21°C" if units == "metric" else "70°F"
    return f"{city}: light rain, {degrees}"
