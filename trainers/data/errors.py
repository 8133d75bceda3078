"""The one exception type the data layer raises for problems a user can fix."""


class DataError(ValueError):
    """Bad, missing or unverifiable dataset files; the message names the file and what to do."""
