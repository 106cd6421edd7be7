"""Workflows as data: the states a record passes through and the transitions between
them, declared in one table per workflow and read by one engine (after Hypha's and
Wagtail's workflow definitions).

A service takes a transition by name: `WORKFLOW.check("approve", row.status)` raises a
`TransitionError` naming the current state and the transitions allowed from it when
the move is not one of them. Who may take a transition is the service's guard (it
depends on the user's scope); what the table holds is where each may go.
"""

from dataclasses import dataclass


class TransitionError(ValueError):
    """A transition that the workflow does not allow from the current state."""


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    label: str


class Workflow:
    def __init__(self, name: str, transitions: list[Transition]):
        self.name = name
        self.transitions = {transition.name: transition for transition in transitions}

    def allowed_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]

    def check(self, name: str, state: str) -> Transition:
        """The transition `name`, if it may be taken from `state`; else a clear refusal."""
        transition = self.transitions.get(name)
        if transition is None:
            raise TransitionError(f"{self.name}: there is no transition {name!r}; "
                                  f"transitions are {', '.join(self.transitions)}")
        if state not in transition.sources:
            allowed = ", ".join(t.name for t in self.allowed_from(state)) or "none"
            raise TransitionError(f"{self.name}: cannot {name} from '{state}'; from '{state}' the allowed "
                                  f"transitions are: {allowed}")
        return transition
