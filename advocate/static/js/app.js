/*
 * Advocate: progressive enhancement only. Every page works without this file.
 *
 * Strict CSP (script-src 'self'; style-src 'self'): no inline handlers, no
 * eval, no setAttribute('style'). Widths are set through the CSSOM
 * (element.style.width), which the CSP allows.
 *
 * Behaviours (all delegated or initialised on DOMContentLoaded):
 *   data-confirm="Message"   on a <form>, a submit button, or a link: asks
 *                            confirm() first. A button's message wins over
 *                            its form's.
 *   [data-dismiss]           inside .flash / .alert: removes that box.
 *   data-autosubmit          on a select/input: submits its form on change.
 *   data-poll-url="/x.json"  polls every 2 s (data-poll-interval="ms" to
 *                            override), writes JSON fields into descendants
 *                            with data-field="name", stops on finished: true.
 *   data-copy="text"         on a button: copies the text (or, when empty,
 *                            the value/text of the element in data-copy-target).
 *   [data-nav-toggle]        opens/closes the sidebar drawer on small screens.
 *   .progress-bar[data-pct]  width set from data-pct.
 *   details.user-menu        closes on outside click / Escape.
 *   .table-wrap that scrolls sideways: focusable region named after its table.
 */
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement;
  root.classList.add("js");

  /* ------------------------------------------------------------------ */
  /* Live region for polite announcements (copy, poll finished, ...)     */
  var liveRegion = null;
  function announce(text) {
    if (!liveRegion) {
      liveRegion = doc.createElement("div");
      liveRegion.className = "sr-only";
      liveRegion.setAttribute("aria-live", "polite");
      liveRegion.setAttribute("role", "status");
      doc.body.appendChild(liveRegion);
    }
    liveRegion.textContent = "";
    window.setTimeout(function () { liveRegion.textContent = text; }, 50);
  }

  function closest(el, selector) {
    return el && el.nodeType === 1 ? el.closest(selector) : null;
  }

  /* ------------------------------------------------------------------ */
  /* data-confirm                                                        */
  var lastSubmitter = new WeakMap();

  doc.addEventListener("click", function (event) {
    var target = closest(event.target, "a[data-confirm], button, input[type=submit], input[type=image]");
    if (!target) return;

    // Remember which button submitted a form (for browsers without event.submitter).
    if (target.form && (target.type === "submit" || target.type === "image")) {
      lastSubmitter.set(target.form, target);
      return;
    }

    // Links with data-confirm.
    if (target.tagName === "A" && target.hasAttribute("data-confirm")) {
      if (!window.confirm(target.getAttribute("data-confirm"))) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    }
  }, true);

  doc.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var submitter = event.submitter || lastSubmitter.get(form) || null;
    lastSubmitter.delete(form);

    var message = null;
    if (submitter && submitter.hasAttribute("data-confirm")) {
      message = submitter.getAttribute("data-confirm");
    } else if (form.hasAttribute("data-confirm")) {
      message = form.getAttribute("data-confirm");
    }
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  /* ------------------------------------------------------------------ */
  /* Flash / alert dismiss                                               */
  doc.addEventListener("click", function (event) {
    var button = closest(event.target, "[data-dismiss]");
    if (!button) return;
    var box = button.closest(".flash, .alert");
    if (!box) return;
    event.preventDefault();
    var container = box.parentElement;
    box.classList.add("is-leaving");
    window.setTimeout(function () {
      box.remove();
      if (container && container.classList.contains("flashes") && !container.children.length) {
        container.remove();
      }
      var main = doc.getElementById("main");
      if (main && doc.activeElement === doc.body) main.focus({ preventScroll: true });
    }, 160);
  });

  /* ------------------------------------------------------------------ */
  /* data-autosubmit                                                     */
  doc.addEventListener("change", function (event) {
    var el = event.target;
    if (!el || !el.hasAttribute || !el.hasAttribute("data-autosubmit")) return;
    var form = el.form || el.closest("form");
    if (!form) return;
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();   // fires "submit" (data-confirm, validation)
    } else {
      form.submit();
    }
  });

  /* ------------------------------------------------------------------ */
  /* Copy to clipboard                                                   */
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var ta = doc.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.className = "sr-only";
      doc.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = doc.execCommand("copy"); } catch (e) { ok = false; }
      ta.remove();
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  doc.addEventListener("click", function (event) {
    var button = closest(event.target, "[data-copy]");
    if (!button) return;
    event.preventDefault();
    var text = button.getAttribute("data-copy");
    if (!text) {
      var sel = button.getAttribute("data-copy-target");
      var src = sel ? doc.querySelector(sel) : null;
      if (src) text = ("value" in src && src.value !== undefined) ? src.value : src.textContent;
    }
    if (!text) return;
    var labelEl = button.querySelector("[data-copy-label]") || button;
    var original = button.getAttribute("data-copy-original");
    if (original === null) {
      original = labelEl.textContent;
      button.setAttribute("data-copy-original", original);
    }
    copyText(text.trim()).then(function () {
      button.classList.add("is-copied");
      if (labelEl.children.length === 0) labelEl.textContent = "Copied";
      announce("Copied to clipboard");
    }, function () {
      announce("Could not copy. Select the text and copy it manually.");
    }).then(function () {
      window.clearTimeout(button._copyTimer);
      button._copyTimer = window.setTimeout(function () {
        button.classList.remove("is-copied");
        if (labelEl.children.length === 0) labelEl.textContent = original;
      }, 1600);
    });
  });

  /* ------------------------------------------------------------------ */
  /* Progress bars driven by data-pct                                    */
  function clampPct(value) {
    var n = Number(value);
    if (!isFinite(n)) return 0;
    return Math.max(0, Math.min(100, n));
  }
  function setBarWidth(bar, pct) {
    var p = clampPct(pct);
    bar.style.width = p + "%";
    bar.setAttribute("data-pct", String(Math.round(p)));
    var track = bar.closest(".progress");
    if (track && track.getAttribute("role") === "progressbar") {
      track.setAttribute("aria-valuenow", String(Math.round(p)));
    }
  }

  /* ------------------------------------------------------------------ */
  /* Polling: [data-poll-url]                                            */
  function formatDuration(seconds) {
    var s = Math.max(0, Math.round(Number(seconds)));
    if (!isFinite(s)) return "—";
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    if (h) return h + "h " + String(m).padStart(2, "0") + "m";
    if (m) return m + "m " + String(sec).padStart(2, "0") + "s";
    return sec + "s";
  }

  function formatValue(value, format, name) {
    if (value === null || value === undefined || value === "") return "—";
    switch (format) {
      case "percent": return Math.round(clampPct(value)) + "%";
      case "duration": return typeof value === "number" ? formatDuration(value) : String(value);
      case "int": return Number(value).toLocaleString("en-US", { maximumFractionDigits: 0 });
      case "money": return "$" + Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      case "raw": return String(value);
    }
    if (name === "pct" && typeof value === "number") return Math.round(clampPct(value)) + "%";
    if (name === "eta" && typeof value === "number") return formatDuration(value);
    if (typeof value === "number") return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
    if (typeof value === "boolean") return value ? "Yes" : "No";
    return String(value);
  }

  function applyFields(container, data) {
    var nodes = container.querySelectorAll("[data-field]");
    Array.prototype.forEach.call(nodes, function (node) {
      var name = node.getAttribute("data-field");
      if (!Object.prototype.hasOwnProperty.call(data, name)) return;
      var value = data[name];
      var tag = node.tagName;

      if (tag === "PROGRESS" || tag === "METER") {
        var num = Number(value);
        if (value === null || !isFinite(num)) {
          if (tag === "PROGRESS") node.removeAttribute("value");   // indeterminate
          return;
        }
        if (!node.hasAttribute("max") && name === "pct") node.setAttribute("max", "100");
        var max = Number(node.getAttribute("max")) || 1;
        node.value = Math.max(0, Math.min(max, num));
        node.textContent = Math.round((node.value / max) * 100) + "%";
        return;
      }
      if (node.classList.contains("progress-bar")) {
        setBarWidth(node, value);
        return;
      }
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
        node.value = value === null || value === undefined ? "" : String(value);
        return;
      }
      var text = formatValue(value, node.getAttribute("data-format"), name);
      if (node.textContent !== text) node.textContent = text;
    });
  }

  function startPoll(el) {
    var url = el.getAttribute("data-poll-url");
    if (!url || el._pollStarted) return;
    el._pollStarted = true;

    var interval = parseInt(el.getAttribute("data-poll-interval"), 10);
    if (!isFinite(interval) || interval < 500) interval = 2000;
    var failures = 0;
    var timer = null;
    var stopped = false;

    el.setAttribute("data-poll-state", "running");
    el.setAttribute("aria-busy", "true");

    function stop(state) {
      stopped = true;
      window.clearTimeout(timer);
      el.setAttribute("data-poll-state", state);
      el.removeAttribute("aria-busy");
    }

    function schedule(delay) {
      if (stopped) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(tick, delay);
    }

    function tick() {
      if (stopped) return;
      if (!el.isConnected) { stop("detached"); return; }
      if (doc.hidden) {
        // Don't poll a background tab; resume as soon as it becomes visible.
        doc.addEventListener("visibilitychange", function onVisible() {
          if (!doc.hidden) {
            doc.removeEventListener("visibilitychange", onVisible);
            schedule(0);
          }
        });
        return;
      }
      fetch(url, {
        method: "GET",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Accept": "application/json", "X-Requested-With": "fetch" }
      }).then(function (response) {
        if (!response.ok) {
          var err = new Error("HTTP " + response.status);
          err.status = response.status;
          throw err;
        }
        return response.json();
      }).then(function (data) {
        failures = 0;
        if (!data || typeof data !== "object") throw new Error("bad payload");
        applyFields(el, data);
        el.dispatchEvent(new CustomEvent("advocate:poll", { bubbles: true, detail: data }));
        if (data.finished === true) {
          stop("finished");
          el.dispatchEvent(new CustomEvent("advocate:poll-finished", { bubbles: true, detail: data }));
          announce(el.getAttribute("data-poll-done-message") || "Finished.");
          if (el.hasAttribute("data-poll-reload")) {
            window.setTimeout(function () { window.location.reload(); }, 800);
          }
        } else {
          schedule(interval);
        }
      }).catch(function (err) {
        failures += 1;
        // 4xx (except 429) will not fix themselves: stop at once.
        if (err && err.status && err.status >= 400 && err.status < 500 && err.status !== 429) {
          stop("error");
          return;
        }
        if (failures >= 6) { stop("error"); return; }
        schedule(Math.min(30000, interval * Math.pow(2, failures)));
      });
    }

    tick();
  }

  /* ------------------------------------------------------------------ */
  /* Sidebar drawer (small screens)                                      */
  function setNav(open) {
    root.classList.toggle("nav-open", open);
    var toggles = doc.querySelectorAll("[data-nav-toggle]");
    Array.prototype.forEach.call(toggles, function (t) {
      t.setAttribute("aria-expanded", open ? "true" : "false");
    });
    if (open) {
      var first = doc.querySelector(".sidebar a, .sidebar button");
      if (first) first.focus();
    }
  }

  doc.addEventListener("click", function (event) {
    if (closest(event.target, "[data-nav-toggle]")) {
      event.preventDefault();
      setNav(!root.classList.contains("nav-open"));
      return;
    }
    if (closest(event.target, "[data-nav-close]")) {
      setNav(false);
    }
  });

  /* ------------------------------------------------------------------ */
  /* <details> menus: close on outside click and Escape                  */
  doc.addEventListener("click", function (event) {
    var openMenus = doc.querySelectorAll("details.user-menu[open], details[data-menu][open]");
    Array.prototype.forEach.call(openMenus, function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  doc.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = closest(doc.activeElement, "details[open]");
    var openMenus = doc.querySelectorAll("details.user-menu[open], details[data-menu][open]");
    Array.prototype.forEach.call(openMenus, function (m) { m.removeAttribute("open"); });
    if (menu) {
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    }
    if (root.classList.contains("nav-open")) {
      setNav(false);
      var toggle = doc.querySelector("[data-nav-toggle]");
      if (toggle) toggle.focus();
    }
  });

  /* ------------------------------------------------------------------ */
  /* Init                                                                */
  function init() {
    Array.prototype.forEach.call(doc.querySelectorAll(".progress-bar[data-pct]"), function (bar) {
      setBarWidth(bar, bar.getAttribute("data-pct"));
    });
    Array.prototype.forEach.call(doc.querySelectorAll("[data-poll-url]"), startPoll);

    // Focus the form error summary so keyboard / screen reader users land on it.
    var summary = doc.querySelector(".form-errors[tabindex]");
    if (summary && !doc.querySelector("[autofocus]")) {
      summary.focus({ preventScroll: false });
    }
  }

  /* ------------------------------------------------------------------ */
  /* A table wider than its box scrolls inside it: make that scroll      */
  /* container reachable by keyboard and named after its table (WCAG     */
  /* 2.1.1), only while it actually scrolls.                             */
  function markScrollers() {
    var boxes = doc.querySelectorAll(".table-wrap, .card-body-flush, .scroll-x");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.scrollWidth > box.clientWidth + 1) {
        if (!box.hasAttribute("tabindex")) {
          var caption = box.querySelector("caption, th");
          box.setAttribute("tabindex", "0");
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", (caption ? caption.textContent.trim() : "Table") + " (scrolls sideways)");
          box.setAttribute("data-scroller", "");
        }
      } else if (box.hasAttribute("data-scroller")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
        box.removeAttribute("data-scroller");
      }
    }
  }
  var scrollTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(scrollTimer);
    scrollTimer = window.setTimeout(markScrollers, 100);
  });

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
    doc.addEventListener("DOMContentLoaded", markScrollers);
  } else {
    init();
    markScrollers();
  }

  // Expose a tiny API for page scripts loaded via {% block scripts %}.
  window.Advocate = {
    announce: announce,
    startPoll: startPoll,
    setProgress: setBarWidth,
    copy: copyText
  };
})();

/*
 * data-show-for="field" data-show-values="a b"   (case pages: the SCA rate fields)
 *   Shows the element only while the form control named "field" in the same
 *   form has one of the listed values; without this script every field shows
 *   and the server ignores the ones that do not apply.
 */
(function () {
  "use strict";

  function sync(form) {
    var nodes = form.querySelectorAll("[data-show-for]");
    Array.prototype.forEach.call(nodes, function (node) {
      var control = form.elements.namedItem(node.getAttribute("data-show-for"));
      if (!control || control.value === undefined) return;
      var values = (node.getAttribute("data-show-values") || "").split(/\s+/);
      node.hidden = values.indexOf(control.value) === -1;
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      if (form.querySelector("[data-show-for]")) sync(form);
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target && event.target.form;
    if (form && form.querySelector("[data-show-for]")) sync(form);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
