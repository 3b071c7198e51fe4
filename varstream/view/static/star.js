// One star: its plot (re-rendered by the server as classifications arrive) and its history.
const id = decodeURIComponent(location.pathname.slice("/star/".length));
const $ = (x) => document.getElementById(x);
const fmt = (x, d) => (x === null || x === undefined ? "" : Number(x).toFixed(d));
let seen = -1;

async function refresh() {
  const res = await fetch("/api/star/" + encodeURIComponent(id));
  if (!res.ok) { $("title").textContent = id + " (not classified yet)"; return; }
  const star = await res.json();
  const r = star.latest;
  const top = Math.max(...r.probabilities.map((p) => p.probability));
  $("title").textContent = id;
  $("latest").textContent = `${r.predicted_class} (${fmt(top, 2)}), family ${r.family} (${fmt(r.family_probability, 2)}); ` +
    (r.nonperiodic_probability !== null && r.nonperiodic_probability !== undefined
      ? `not a periodic variable: ${fmt(r.nonperiodic_probability, 2)}; ` : "") +
    (r.prior === "survey" ? "probabilities under the survey's estimated prior; " : "") +
    `${r.n_observations} observations, period ${fmt(r.period_days, 6)} d` +
    (r.period_fap !== null && r.period_fap !== undefined
      ? ` (false-alarm probability ${r.period_fap.toExponential(1)}, ${fmt(r.period_cycles, 1)} cycles)` : "") +
    (r.bands && r.bands.length ? `, bands ${r.bands.join(" ")}` : "") +
    (r.abs_mag !== null && r.abs_mag !== undefined ? `, absolute magnitude ${fmt(r.abs_mag, 2)} ± ${fmt(r.abs_mag_err, 2)}` : "");
  if (star.history.length !== seen) {
    seen = star.history.length;
    $("plot").src = "/api/star/" + encodeURIComponent(id) + "/plot.png?n=" + seen;
    $("history").querySelector("tbody").replaceChildren(...star.history.slice().reverse().map((h) => {
      const tr = document.createElement("tr");
      const p = Math.max(...h.probabilities.map((x) => x.probability));
      tr.innerHTML = `<td>${h.n_observations}</td><td>${h.predicted_class}</td><td>${fmt(p, 2)}</td><td>${h.family}</td>` +
        `<td>${fmt(h.family_probability, 2)}</td>` +
        `<td>${h.nonperiodic_probability === null || h.nonperiodic_probability === undefined ? "–" : fmt(h.nonperiodic_probability, 2)}</td>` +
        `<td>${fmt(h.period_days, 6)}</td><td>${h.exact === false ? "no" : "yes"}</td>` +
        `<td>${new Date(h.publish_time).toISOString().slice(11, 19)}</td>`;
      return tr;
    }));
  }
  document.body.dataset.loaded = "true";
}
refresh();
setInterval(refresh, 3000);
