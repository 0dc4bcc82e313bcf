"use strict";
// Filters by status and tag. The state lives in the URL fragment (#status=fail,warn&tag=users)
// so a filtered view can be linked to; a fragment without status= or tag= (a card's #r12)
// leaves the filters as they are.
(function () {
  var root = document.documentElement;
  var bar = document.getElementById("filters");
  var cards = Array.prototype.slice.call(document.querySelectorAll("details.rule"));
  var boxes = Array.prototype.slice.call(bar.querySelectorAll("input[name=status]"));
  var tag = document.getElementById("tag");
  var shown = document.getElementById("shown");
  var sections = Array.prototype.slice.call(document.querySelectorAll("main section"));

  function fromHash() {
    var hash = location.hash.replace(/^#/, "");
    if (!/(^|&)(status|tag)=/.test(hash)) return null;
    var params = new URLSearchParams(hash);
    var status = params.get("status");
    return {
      status: status === null ? null : status.split(",").filter(Boolean),
      tag: params.get("tag") || ""
    };
  }

  function apply(filter) {
    var count = 0;
    boxes.forEach(function (box) {
      box.checked = !filter.status || filter.status.indexOf(box.value) >= 0;
    });
    tag.value = filter.tag;
    if (tag.value !== filter.tag) tag.value = "";
    cards.forEach(function (card) {
      var ok = (!filter.status || filter.status.indexOf(card.dataset.status) >= 0) &&
        (!filter.tag || (" " + card.dataset.tags + " ").indexOf(" " + filter.tag + " ") >= 0);
      card.hidden = !ok;
      if (ok) count++;
    });
    sections.forEach(function (section) {
      var inside = section.querySelectorAll("details.rule");
      if (inside.length === 0) return;
      section.hidden = section.querySelectorAll("details.rule:not([hidden])").length === 0;
    });
    shown.textContent = count + " of " + cards.length + " rules shown";
    root.dataset.shown = String(count);
  }

  function fromControls() {
    var status = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    var filter = { status: status.length === boxes.length ? null : status, tag: tag.value };
    var parts = [];
    if (filter.status) parts.push("status=" + filter.status.join(","));
    if (filter.tag) parts.push("tag=" + encodeURIComponent(filter.tag));
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
    apply(filter);
  }

  boxes.forEach(function (box) { box.addEventListener("change", fromControls); });
  tag.addEventListener("change", fromControls);
  // A link to a card (the timing chart's) opens it, even when a filter had hidden it.
  function reveal() {
    var card = document.getElementById(location.hash.replace(/^#/, ""));
    if (card && card.classList.contains("rule")) {
      card.hidden = false;
      card.open = true;
    }
  }
  window.addEventListener("hashchange", function () {
    var filter = fromHash();
    if (filter) apply(filter);
    else reveal();
  });
  window.addEventListener("beforeprint", function () {
    cards.forEach(function (card) { if (!card.hidden) card.open = true; });
  });
  bar.hidden = false;
  apply(fromHash() || { status: null, tag: "" });
  reveal();
  root.dataset.js = "ready";
})();
