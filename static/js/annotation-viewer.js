// Annotation viewer of the record landing page: draws the W3C AnnotationPage of an image
// (`/api/annotations/pages/<record>/<file>`) over the image and lists its annotations;
// curators accept or reject through `POST /api/annotations/<id>/review`.
(function () {
  "use strict";

  const TERMS = "https://specimen-rdm.org/terms/";
  const SVG_NS = "http://www.w3.org/2000/svg";

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function bodies(item) {
    const body = item.body;
    return Array.isArray(body) ? body : body ? [body] : [];
  }

  function describe(item) {
    const found = { category: "", text: "", tags: [] };
    for (const body of bodies(item)) {
      if (body.purpose === "classifying") found.category = body.value;
      else if (body.purpose === "transcribing") found.text = body.value;
      else if (body.purpose === "tagging") found.tags.push(body.value);
    }
    const status = item[TERMS + "status"] || {};
    const creator = item.creator || {};
    found.status = status.state || status || "";
    found.score = item[TERMS + "score"];
    found.creator = creator.type === "Software" ? "model " + (creator.name || creator.id || "") : "person";
    found.id = String(item.id || "").split("/").pop();
    return found;
  }

  function fragmentBox(value) {
    const match = /xywh=(?:pixel:)?([\d.eE+-]+),([\d.eE+-]+),([\d.eE+-]+),([\d.eE+-]+)/.exec(value || "");
    return match ? match.slice(1, 5).map(Number) : null;
  }

  function selectors(target) {
    const selector = target && target.selector;
    return Array.isArray(selector) ? selector : selector ? [selector] : [];
  }

  function maskSource(target) {
    for (const value of Object.values(target || {})) {
      if (value && value.type === "SpecificResource" && String(value.source || "").startsWith("data:image/png")) {
        return value.source;
      }
    }
    return null;
  }

  function shapesFor(item, width, height) {
    const target = Array.isArray(item.target) ? item.target[0] : item.target;
    const shapes = [];
    const mask = maskSource(target);
    if (mask) {
      const image = document.createElementNS(SVG_NS, "image");
      image.setAttribute("href", mask);
      image.setAttribute("width", width);
      image.setAttribute("height", height);
      image.setAttribute("class", "mask");
      shapes.push(image);
    }
    let drawn = false;
    for (const selector of selectors(target)) {
      if (selector.type === "SvgSelector") {
        const parsed = new DOMParser().parseFromString(selector.value, "image/svg+xml");
        for (const element of parsed.querySelectorAll("path, polygon, rect, circle, ellipse")) {
          shapes.push(document.importNode(element, true));
          drawn = true;
        }
      }
    }
    if (!drawn) {
      for (const selector of selectors(target)) {
        const box = selector.type === "FragmentSelector" ? fragmentBox(selector.value) : null;
        if (box) {
          const rect = document.createElementNS(SVG_NS, "rect");
          ["x", "y", "width", "height"].forEach((name, i) => rect.setAttribute(name, box[i]));
          shapes.push(rect);
          drawn = true;
        }
      }
    }
    if (!drawn && !mask) {
      const rect = document.createElementNS(SVG_NS, "rect");
      rect.setAttribute("width", width);
      rect.setAttribute("height", height);
      shapes.push(rect);
    }
    return shapes;
  }

  async function review(viewer, id, state) {
    const response = await fetch(`${viewer.dataset.api}/annotations/${encodeURIComponent(id)}/review`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ state: state }),
    });
    if (!response.ok) {
      const detail = await response.json().catch(() => ({}));
      throw new Error(detail.message || `review failed (${response.status})`);
    }
  }

  async function show(viewer, key) {
    const record = viewer.dataset.record;
    const api = viewer.dataset.api;
    const message = viewer.querySelector(".annotation-message");
    const image = viewer.querySelector(".annotation-image");
    const overlay = viewer.querySelector(".annotation-overlay");
    const list = viewer.querySelector(".annotation-list");
    const response = await fetch(`${api}/annotations/pages/${encodeURIComponent(record)}/${encodeURIComponent(key)}`, {
      credentials: "same-origin",
      headers: { Accept: "application/ld+json" },
    });
    if (!response.ok) return 0;
    const page = await response.json();
    const items = page.items || [];
    const width = page[TERMS + "width"] || 0;
    const height = page[TERMS + "height"] || 0;
    image.src = `${api}/iiif/record:${record}:${encodeURIComponent(key)}/full/1200,/0/default.jpg`;
    image.onload = () => {
      const w = width || image.naturalWidth;
      const h = height || image.naturalHeight;
      overlay.setAttribute("viewBox", `0 0 ${w} ${h}`);
      overlay.replaceChildren();
      list.replaceChildren();
      items.forEach((item) => {
        const info = describe(item);
        const group = document.createElementNS(SVG_NS, "g");
        group.setAttribute("class", `region ${info.status}`);
        group.dataset.annotation = info.id;
        shapesFor(item, w, h).forEach((shape) => group.appendChild(shape));
        overlay.appendChild(group);

        const entry = document.createElement("li");
        entry.dataset.annotation = info.id;
        const score = typeof info.score === "number" ? ` · ${info.score.toFixed(2)}` : "";
        entry.innerHTML = "<strong></strong> <span class='meta'></span>";
        entry.querySelector("strong").textContent = info.category || info.text || info.tags.join(", ") || "region";
        entry.querySelector(".meta").textContent = `${info.creator}${score} · ${info.status}`;
        if (viewer.dataset.canReview === "true") {
          for (const state of ["accepted", "rejected"]) {
            const button = document.createElement("button");
            button.type = "button";
            button.className = "ui mini button";
            button.textContent = state === "accepted" ? "Accept" : "Reject";
            button.addEventListener("click", async (event) => {
              event.stopPropagation();
              try {
                await review(viewer, info.id, state);
                message.textContent = `Annotation ${info.id} ${state}.`;
                await show(viewer, key);
              } catch (error) {
                message.textContent = error.message;
              }
            });
            entry.appendChild(button);
          }
        }
        entry.addEventListener("click", () => {
          overlay.querySelectorAll(".region").forEach((g) => g.classList.toggle("selected", g.dataset.annotation === info.id));
        });
        list.appendChild(entry);
      });
    };
    return items.length;
  }

  async function start() {
    const viewer = document.getElementById("annotation-viewer");
    if (!viewer) return;
    const keys = JSON.parse(viewer.dataset.images || "[]");
    const choice = viewer.querySelector("#annotation-viewer-image");
    keys.forEach((key) => choice.appendChild(new Option(key, key)));
    viewer.querySelector(".annotation-viewer-image-choice").hidden = keys.length < 2;
    choice.addEventListener("change", () => show(viewer, choice.value));
    for (const key of keys) {
      if ((await show(viewer, key)) > 0) {
        choice.value = key;
        viewer.hidden = false;
        return;
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
