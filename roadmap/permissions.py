"""Who may edit the roadmaps, as `rules` predicates (the permission table of DESIGN.md).

A solution roadmap is a train's: a solution train's (its capabilities, and the features
of its ARTs) or an ART's outside any solution train. APMO and portfolio managers edit
any of them; the STE their solution train's and its ARTs'; the RTE their own ART's.

``roadmap.edit_solution_roadmap`` is checked against a train or a row of its roadmap
(a capability, a feature, a milestone), which stands for the train that carries it.
The train must be loaded with ``value_stream`` and ``solution_train`` so that checking
every row of a page costs no query. A milestone without a train is on the portfolio
roadmap, which APMO and portfolio managers edit (``roadmap.edit_portfolio_roadmap``,
checked against the portfolio or the milestone).
"""

import rules

from portfolio.permissions import is_apmo, is_portfolio_manager
from valuestreams.models import Train
from valuestreams.permissions import engineers_train

EDIT_SOLUTION_ROADMAP = "roadmap.edit_solution_roadmap"
EDIT_PORTFOLIO_ROADMAP = "roadmap.edit_portfolio_roadmap"


def train_of(obj) -> Train | None:
    """The train whose roadmap ``obj`` is on (None for a portfolio milestone)."""
    if obj is None or isinstance(obj, Train):
        return obj
    return obj.train if getattr(obj, "train_id", None) else None


@rules.predicate
def engineers_roadmap_train(user, obj) -> bool:
    """The user is the RTE/STE of the train carrying ``obj``, or the STE of its solution train."""
    return engineers_train(user, train_of(obj))


rules.add_perm(EDIT_SOLUTION_ROADMAP, is_apmo | is_portfolio_manager | engineers_roadmap_train)
rules.add_perm(EDIT_PORTFOLIO_ROADMAP, is_apmo | is_portfolio_manager)
