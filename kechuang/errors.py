"""What the services of every app raise when a user's role does not allow an action.

Each app's `NotAllowed` is also its own validation error (naming the field); this base
lets the interfaces answer every one of them alike: 403 on the API, a 403 page on the web.
"""


class RoleRefusal(Exception):
    """Mixed into an app's NotAllowed: the action is refused because of who is asking."""
