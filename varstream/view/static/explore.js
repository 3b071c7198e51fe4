// The table of stars: server-side filtering and sorting (/api/stars), refreshed every 2 s without a reload.
const state = { sort: "published", order: "desc" };
const $ = (id) => document.getElementById(id);
const fmt = (x, d) => (x === null || x === undefined ? "" : Number(x).toFixed(d));
const when = (ms) => new Date(ms).toISOString().slice(11, 19);

function query() {
  const p = new URLSearchParams({ sort: state.sort, order: state.order, limit: "500" });
  if ($("f-class").value) p.set("class", $("f-class").value);
  if ($("f-family").value) p.set("family", $("f-family").value);
  if (Number($("f-prob").value) > 0) p.set("min_prob", $("f-prob").value);
  if ($("f-q").value) p.set("q", $("f-q").value);
  return p.toString();
}

function options(select, values) {
  const current = select.value;
  const have = new Set([...select.options].map((o) => o.value));
  for (const v of values) if (!have.has(v)) select.add(new Option(v, v));
  select.value = current;
}

async function refresh() {
  const started = performance.now();
  try {
    const [summary, stars] = await Promise.all([
      fetch("/api/summary").then((r) => r.json()),
      fetch("/api/stars?" + query()).then((r) => r.json()),
    ]);
    $("summary").textContent = `${summary.stars} stars, ${summary.classifications} classifications — ` +
      Object.entries(summary.families).map(([f, n]) => `${f || "?"} ${n}`).join(", ");
    options($("f-class"), Object.keys(summary.classes));
    options($("f-family"), Object.keys(summary.families));
    $("shown").textContent = `showing ${stars.rows.length} of ${stars.total}`;
    const body = document.querySelector("#stars tbody");
    body.replaceChildren(...stars.rows.map((r) => {
      const tr = document.createElement("tr");
      if (r.probability < 0.5) tr.className = "low";
      tr.innerHTML = `<td><a href="/star/${encodeURIComponent(r.object_id)}"></a></td><td>${r.predicted_class}</td>` +
        `<td class="num">${fmt(r.probability, 2)}</td><td>${r.family}</td><td class="num">${fmt(r.family_probability, 2)}</td>` +
        `<td class="num nonper">${r.nonperiodic_probability === null ? "–" : fmt(r.nonperiodic_probability, 2)}</td>` +
        `<td class="num">${r.n_observations}</td><td class="num">${fmt(r.period_days, 5)}</td>` +
        `<td class="num">${fmt(r.latency_s, 2)}</td><td>${when(r.published)}</td>`;
      tr.querySelector("a").textContent = r.object_id;
      return tr;
    }));
    document.body.dataset.loaded = "true";
    // timings a test or a curious user can read: first full render since navigation, last update
    if (!document.body.dataset.firstRenderMs) document.body.dataset.firstRenderMs = performance.now().toFixed(0);
    document.body.dataset.updateMs = (performance.now() - started).toFixed(0);
  } catch (err) {
    $("summary").textContent = "explorer unreachable: " + err;
  }
}

document.querySelectorAll("#stars th").forEach((th) => th.addEventListener("click", () => {
  const key = th.dataset.key;
  state.order = state.sort === key && state.order === "desc" ? "asc" : "desc";
  state.sort = key;
  document.querySelectorAll("#stars th").forEach((h) => h.classList.remove("sorted-asc", "sorted-desc"));
  th.classList.add("sorted-" + state.order);
  refresh();
}));
["f-class", "f-family", "f-prob", "f-q"].forEach((id) => $(id).addEventListener("input", () => {
  $("f-prob-value").textContent = Number($("f-prob").value).toFixed(2);
  refresh();
}));
refresh();
setInterval(refresh, 2000);
