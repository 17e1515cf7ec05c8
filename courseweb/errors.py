"""The one error a service raises when a rule refuses a change.

Services of every app (forum, office hours, the roster) raise a subclass of `Refusal` with a message
written for the user; nothing has been changed when it is raised. Views catch `Refusal` and show its
message (as a form error or a flash message). This module imports no app.
"""


class Refusal(Exception):
    """A rule refused the change; `message` tells the user why. Nothing was changed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
