"""Reads of the epic Kanban: the board (each column's top epics by WSJF) and one
column's full list. A few queries whatever the number of epics; the templates only lay
the result out.
"""

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber

from .models import WIP_LIMITED_STATES, Epic, EpicState, Portfolio, WipLimit
from .selectors import epic_counts_by_state

# Cards each column of the board shows; the rest are one click away.
CARDS_PER_COLUMN = 25
# Rows of a column's full list per page.
COLUMN_PAGE_SIZE = 100
WSJF_ORDER = (F("wsjf").desc(), F("key").asc())


def with_card_relations(epics: QuerySet[Epic]) -> QuerySet[Epic]:
    """What a card shows beside the epic's own fields: owner, target PI, value streams."""
    return epics.select_related("owner", "target_pi").prefetch_related("value_streams")


@dataclass(frozen=True)
class EpicCard:
    epic: Epic
    can_move: bool


@dataclass
class KanbanColumn:
    """A column of the board: its epics (the top ones by WSJF) against its WIP limit.

    ``count`` is every epic in the column (what the WIP limit counts); ``matching`` the
    ones the filters let through, of which ``cards`` are the first by WSJF.
    """

    state: str
    label: str
    count: int
    limit: int | None
    matching: int
    cards: list[EpicCard] = field(default_factory=list)

    @property
    def has_limit(self) -> bool:
        return self.limit is not None

    @property
    def takes_a_limit(self) -> bool:
        """Whether the column is one that has a WIP limit (all but the funnel and done)."""
        return self.state in WIP_LIMITED_STATES

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.count > self.limit

    @property
    def at_limit(self) -> bool:
        return self.limit is not None and self.count == self.limit

    @property
    def hidden(self) -> int:
        return self.matching - len(self.cards)


@dataclass
class KanbanBoard:
    columns: list[KanbanColumn]
    filtering: bool
    can_set_limits: bool
    wip_limits: dict[str, WipLimit]  # loaded for those who may change them (the form's versions)

    @property
    def matching(self) -> int:
        return sum(column.matching for column in self.columns)


def _cards(user, epics) -> list[EpicCard]:
    return [EpicCard(epic, user.has_perm("portfolio.move_epic", epic)) for epic in epics]


def kanban_board(
    *, user, portfolio: Portfolio, epics: QuerySet[Epic], filtering: bool, per_column: int = CARDS_PER_COLUMN
) -> KanbanBoard:
    """The board of ``portfolio``: every column in flow order with its count against its
    WIP limit and its first ``per_column`` epics of ``epics`` (the visible, filtered
    epics of the portfolio) by WSJF.

    Queries: counts and limits (2), the filtered counts when filtering (1), the cards of
    all columns in one query ranked by a window function (1), their value streams (1),
    and the WIP limit rows for a portfolio manager's form (1).
    """
    totals = epic_counts_by_state(user=user, portfolio=portfolio)
    if filtering:
        matching = dict(epics.order_by().values_list("state").annotate(n=Count("pk", distinct=True)))
    else:
        matching = {column.state: column.count for column in totals}
    ranked = epics.annotate(
        column_rank=Window(RowNumber(), partition_by=[F("state")], order_by=list(WSJF_ORDER))
    ).filter(column_rank__lte=per_column)
    cards_by_state: dict[str, list[Epic]] = {state: [] for state in EpicState.values}
    for epic in with_card_relations(ranked).order_by("state", "column_rank"):
        cards_by_state[epic.state].append(epic)
    columns = [
        KanbanColumn(
            state=total.state,
            label=total.label,
            count=total.count,
            limit=total.limit,
            matching=matching.get(total.state, 0),
            cards=_cards(user, cards_by_state[total.state]),
        )
        for total in totals
    ]
    can_set_limits = user.has_perm("portfolio.change_wiplimit", portfolio)
    wip_limits = {row.state: row for row in WipLimit.objects.filter(portfolio=portfolio)} if can_set_limits else {}
    return KanbanBoard(columns=columns, filtering=filtering, can_set_limits=can_set_limits, wip_limits=wip_limits)


@dataclass
class ColumnList:
    """One column's epics, all of them by WSJF, a page at a time."""

    column: KanbanColumn
    page: Page
    cards: list[EpicCard]
    filtering: bool


def kanban_column(
    *, user, portfolio: Portfolio, state: str, epics: QuerySet[Epic], filtering: bool, page_number
) -> ColumnList:
    """The column ``state`` of the board as a list: ``epics`` (visible, filtered) in it by
    WSJF, ``COLUMN_PAGE_SIZE`` a page. Queries: counts and limits (2), the page's count
    and rows (2), their value streams (1)."""
    total = next(column for column in epic_counts_by_state(user=user, portfolio=portfolio) if column.state == state)
    in_column = with_card_relations(epics.filter(state=state).order_by(*WSJF_ORDER))
    page = Paginator(in_column, COLUMN_PAGE_SIZE).get_page(page_number)
    column = KanbanColumn(
        state=state,
        label=total.label,
        count=total.count,
        limit=total.limit,
        matching=page.paginator.count if filtering else total.count,
    )
    return ColumnList(column=column, page=page, cards=_cards(user, page.object_list), filtering=filtering)
