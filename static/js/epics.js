// The epic Kanban: drag a card onto another column to move it.
//
// Only an improvement: every card that may be moved carries a small form (a column
// and a Move button) that works without JavaScript. Dropping a card fills in that
// form and submits it, so the server decides exactly as for the button (permissions,
// WIP limits, a stale board) and the page shows its answer.
(function () {
  "use strict";
  const board = document.querySelector("[data-kanban]");
  if (!board) return;
  let dragged = null;

  function columnOf(event) {
    const column = event.target.closest(".kanban-column");
    return column && dragged && column.dataset.state !== dragged.dataset.state ? column : null;
  }

  function clearTargets() {
    board.querySelectorAll(".is-drop-target").forEach((c) => c.classList.remove("is-drop-target"));
  }

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest('.epic-card[draggable="true"]');
    if (!card) return;
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });

  board.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    clearTargets();
  });

  board.addEventListener("dragover", (event) => {
    const column = columnOf(event);
    if (!column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("is-drop-target")) {
      clearTargets();
      column.classList.add("is-drop-target");
    }
  });

  board.addEventListener("drop", (event) => {
    const column = columnOf(event);
    if (!column) return;
    event.preventDefault();
    const form = document.getElementById(dragged.dataset.moveForm);
    if (!form) return;
    form.elements.state.value = column.dataset.state;
    clearTargets();
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  });
})();
