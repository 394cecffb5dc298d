// The console's own script: charts (plotly.js, served by the hub), the live segment preview and
// camera scanning where the browser offers BarcodeDetector. Everything works without it except those.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function drawCharts() {
  if (typeof Plotly === "undefined") return;
  document.querySelectorAll("[data-chart]").forEach((el) => {
    const spec = JSON.parse(document.getElementById(el.dataset.chart).textContent);
    Plotly.newPlot(el, spec.data, spec.layout, { displaylogo: false, responsive: true });
  });
}

function setUpPreview() {
  const button = document.getElementById("preview");
  if (!button) return;
  const output = document.getElementById("preview-result");
  const field = document.getElementById("condition");
  const preview = async (quiet) => {
    let condition;
    try {
      condition = JSON.parse(field.value);
    } catch (err) {
      if (quiet) return; // still typing
      output.textContent = "JSON: " + err.message;
      output.className = "error";
      return;
    }
    output.textContent = "…";
    const answer = await fetch("/api/segments/preview", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify({ condition: condition }),
      credentials: "same-origin",
    });
    const body = await answer.json();
    if (answer.ok) {
      output.className = "ok";
      output.textContent = output.dataset.label + ": " + body.count;
    } else {
      output.className = "error";
      output.textContent = body.error ? body.error.message : answer.statusText;
    }
  };
  button.addEventListener("click", () => preview(false));
  // Live: the count follows the condition while it is edited, once it is valid JSON again.
  let timer = null;
  field.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => preview(true), 700);
  });
}

function setUpCamera() {
  const button = document.getElementById("camera");
  if (!button) return;
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
    button.hidden = true;
    document.getElementById("camera-note").hidden = false;
    return;
  }
  button.addEventListener("click", async () => {
    const detector = new BarcodeDetector({ formats: ["ean_13", "ean_8", "upc_a", "upc_e"] });
    const video = document.getElementById("camera-view");
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const look = async () => {
      const codes = await detector.detect(video);
      if (codes.length) {
        stream.getTracks().forEach((track) => track.stop());
        document.getElementById("gtin").value = codes[0].rawValue;
        document.getElementById("scan-form").submit();
        return;
      }
      requestAnimationFrame(look);
    };
    look();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  drawCharts();
  setUpPreview();
  setUpCamera();
});
