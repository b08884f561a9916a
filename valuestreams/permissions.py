"""Who may do what with trains, status reports and dependencies.

Train roles: the RTE of an ART and the STE of a solution train (who also answers for
the ARTs in that solution train). These predicates read only the train's foreign keys,
so a page that checks many trains needs ``solution_train`` loaded with them.
"""

import rules

from portfolio.permissions import is_apmo, is_enterprise_architect


def engineers_train(user, train) -> bool:
    """The user is the train's RTE/STE, or the STE of the solution train an ART belongs to."""
    if train is None or not getattr(user, "is_authenticated", False):
        return False
    if train.engineer_id == user.pk:
        return True
    return bool(train.solution_train_id) and train.solution_train.engineer_id == user.pk


@rules.predicate
def is_train_engineer(user, train) -> bool:
    return engineers_train(user, train)


@rules.predicate
def engineers_provider(user, dependency) -> bool:
    return dependency is not None and engineers_train(user, dependency.provider)


@rules.predicate
def engineers_consumer(user, dependency) -> bool:
    return dependency is not None and engineers_train(user, dependency.consumer)


# Status reports: the train's RTE/STE and APMO.
rules.add_perm("valuestreams.post_status_report", is_apmo | is_train_engineer)
# Raising a dependency is checked against the consumer train.
rules.add_perm("valuestreams.raise_dependency", is_apmo | is_enterprise_architect | is_train_engineer)
# Provider actions: accept, decline, commit, deliver, flag.
rules.add_perm("valuestreams.act_as_provider", is_apmo | is_enterprise_architect | engineers_provider)
rules.add_perm("valuestreams.cancel_dependency", is_apmo | is_enterprise_architect | engineers_consumer)
rules.add_perm("valuestreams.change_dependency", is_apmo | is_enterprise_architect | engineers_consumer)
# Setting up value streams, trains and teams.
rules.add_perm("valuestreams.manage_trains", is_apmo)
