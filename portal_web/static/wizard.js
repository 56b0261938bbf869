// The order wizard's Items step, enhanced: the item editor becomes a dialog, the product list
// filters as one types, the unit list follows the product, and the estimated net amount and the
// order total show as the person types. Without this script the same form posts to the server.
"use strict";

(function () {
  const editor = document.getElementById("item-editor");
  if (!editor || typeof HTMLDialogElement !== "function") return;
  const form = editor.closest("form");
  const product = document.getElementById("f-product_number");
  const quantity = document.getElementById("f-quantity");
  const unit = document.getElementById("f-unit");
  const search = document.getElementById("f-product-search");
  const submit = document.getElementById("item-submit");
  const cancel = document.getElementById("item-cancel");
  const title = document.getElementById("item-editor-title");
  const itemAmount = document.getElementById("item-amount");
  const orderTotal = document.getElementById("order-total");
  const currency = editor.dataset.currency;
  let editing = null; // the index of the item being changed, or null when adding
  let opener = null;

  // Exact decimals ({digits, scale} with BigInt), so that 0.1 x 3 is 0.30 as on the server.
  function parse(text) {
    const found = /^\s*(\d+)(?:\.(\d+))?\s*$/.exec(text || "");
    if (!found) return null;
    const places = found[2] || "";
    return { n: BigInt(found[1] + places), s: places.length };
  }
  function times(a, b) { return { n: a.n * b.n, s: a.s + b.s }; }
  function plus(a, b) {
    const s = Math.max(a.s, b.s);
    return { n: a.n * 10n ** BigInt(s - a.s) + b.n * 10n ** BigInt(s - b.s), s };
  }
  function shown(d) {
    // Two places, half up, with thousands separators: as the server's money().
    let n = d.n;
    if (d.s > 2) { const unitSize = 10n ** BigInt(d.s - 2); n = (n + unitSize / 2n) / unitSize; }
    else n = n * 10n ** BigInt(2 - d.s);
    const digits = n.toString().padStart(3, "0");
    const whole = digits.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return whole + "." + digits.slice(-2) + (currency ? " " + currency : "");
  }

  function prices() {
    const option = product.selectedOptions[0];
    return option && option.dataset.prices ? JSON.parse(option.dataset.prices) : null;
  }

  function fillUnits(wanted) {
    const known = prices();
    if (!known) return;
    const option = product.selectedOptions[0];
    const current = unit.value;
    unit.replaceChildren();
    for (const symbol of Object.keys(known)) unit.add(new Option(symbol, symbol));
    // The item's own unit when changing it; else the product's default unit.
    const preferred = [wanted, option.dataset.defaultUnit, current].find((u) => u && u in known);
    if (preferred) unit.value = preferred;
  }

  function estimate() {
    const known = prices();
    const price = known && known[unit.value] ? parse(known[unit.value]) : null;
    const count = parse(quantity.value);
    const amount = price && count ? times(price, count) : null;
    itemAmount.textContent = amount ? shown(amount) : "—";
    let total = amount || { n: 0n, s: 0 };
    for (const row of document.querySelectorAll("tr[data-amount]")) {
      const other = parse(row.dataset.amount);
      if (other && row.id !== "item-" + editing) total = plus(total, other);
    }
    orderTotal.textContent = shown(total);
  }

  function filter() {
    const wanted = search.value.trim().toLowerCase();
    let first = null;
    for (const option of product.options) {
      if (!option.value) { option.hidden = wanted !== ""; continue; }
      option.hidden = wanted !== "" && !option.text.toLowerCase().includes(wanted);
      if (!option.hidden && !first) first = option;
    }
    const current = product.selectedOptions[0];
    if ((!current || current.hidden) && first) { first.selected = true; fillUnits(); }
    estimate();
  }

  // The editor section becomes a modal dialog in its place (still inside the form).
  const dialog = document.createElement("dialog");
  dialog.id = "item-dialog";
  dialog.setAttribute("aria-labelledby", "item-editor-title");
  editor.before(dialog);
  dialog.append(editor);
  editor.removeAttribute("aria-labelledby");
  product.size = 6;
  document.getElementById("product-search-field").hidden = false;
  for (const line of editor.querySelectorAll(".estimate")) line.hidden = false;
  cancel.hidden = false;

  function open(index, from) {
    editing = index;
    opener = from;
    const row = index === null ? null : document.querySelector(`[data-change="${index}"]`);
    search.value = "";
    filter();
    product.value = row ? row.dataset.product : "";
    quantity.value = row ? row.dataset.quantity : "";
    fillUnits(row ? row.dataset.unit : "");
    submit.value = index === null ? "add" : "save:" + index;
    submit.textContent = index === null ? "Add to order" : "Save changes";
    title.textContent = index === null ? "Item information" : "Change item " + (index + 1);
    estimate();
    dialog.showModal();
    search.focus();
  }

  // "Add item" is a link to the section without the script; with it, a button opening the dialog.
  const link = document.getElementById("add-item");
  const add = document.createElement("button");
  add.type = "button";
  add.id = "add-item";
  add.className = "secondary";
  add.textContent = "Add item";
  link.replaceWith(add);
  add.addEventListener("click", () => open(null, add));
  for (const change of document.querySelectorAll("[data-change]")) {
    change.addEventListener("click", (event) => {
      event.preventDefault();
      open(Number(change.dataset.change), change);
    });
  }
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { if (opener) opener.focus(); });
  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    // Enter in the search box moves on to the list; it never submits the item half-typed.
    if (event.key === "Enter") { event.preventDefault(); product.focus(); }
  });
  product.addEventListener("change", () => { fillUnits(); estimate(); });
  quantity.addEventListener("input", estimate);
  unit.addEventListener("change", estimate);
  if (editor.dataset.acted === "true") {
    // Back from adding, changing or removing an item: the focus where the person goes on from,
    // the first refused item's Change button, else Add item (not the top of the page).
    const refused = document.querySelector("tr.invalid [data-change]");
    (refused || add).focus();
  }
  if (form && editor.dataset.editing === "true") {
    const index = Number((submit.value.split(":")[1]) || 0);
    open(index, document.querySelector(`[data-change="${index}"]`));
  }
})();
