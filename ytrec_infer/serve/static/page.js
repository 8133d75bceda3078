// The page of `ytrec serve`: search the catalog, build a history, ask /recommend.
// Plain JavaScript against the service's own JSON routes; no build step, no libraries.
"use strict";

const state = { history: [], fields: [], integerIds: true, asked: 0 };
const $ = (id) => document.getElementById(id);

async function call(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const payload = await response.json();
  if (!response.ok) {
    const where = payload.field ? ` (field: ${payload.field})` : "";
    throw new Error(`${response.status}: ${payload.error}${where}`);
  }
  return payload;
}

function setStatus(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

function item(li, record) {
  li.dataset.id = JSON.stringify(record.item_id);
  li.textContent = record.title;
  const count = document.createElement("span");
  count.className = "count";
  count.textContent = `#${record.item_id}`;
  li.appendChild(count);
  return li;
}

async function search() {
  const query = $("search").value;
  const found = await call(`/items?q=${encodeURIComponent(query)}&limit=15`);
  if (query !== $("search").value) return;  // a newer search is on its way
  const list = $("search-results");
  list.replaceChildren(...found.items.map((record) => {
    const li = item(document.createElement("li"), record);
    li.addEventListener("click", () => addToHistory(record));
    return li;
  }));
}

function renderHistory() {
  const list = $("history");
  if (!state.history.length) {
    list.innerHTML = '<li class="empty">nothing yet: click items on the left</li>';
    return;
  }
  list.replaceChildren(...state.history.map((record, position) => {
    const li = item(document.createElement("li"), record);
    li.addEventListener("click", () => {
      state.history.splice(position, 1);
      renderHistory();
      recommend();
    });
    return li;
  }));
}

function addToHistory(record) {
  if (!state.history.some((r) => r.item_id === record.item_id)) {
    state.history.push(record);
    renderHistory();
    recommend();
  }
}

function buildUserFields(fields) {
  const form = $("user-fields");
  form.replaceChildren(...fields.map((spec) => {
    const label = document.createElement("label");
    label.textContent = spec.name;
    let input;
    if (spec.type === "string" && spec.values.length) {
      input = document.createElement("select");
      input.appendChild(new Option("(unknown)", ""));
      spec.values.forEach((value) => input.appendChild(new Option(value, value)));
    } else {
      input = document.createElement("input");
      input.type = spec.type === "number" ? "number" : "text";
      if (spec.type === "number") { input.min = spec.minimum; input.max = spec.maximum; }
    }
    input.name = spec.name;
    input.id = `user-${spec.name}`;
    input.addEventListener("change", recommend);
    label.appendChild(input);
    return label;
  }));
}

function userValues() {
  const user = {};
  state.fields.forEach((spec) => {
    const value = $(`user-${spec.name}`).value.trim();
    if (value === "") return;
    if (spec.type === "array") user[spec.name] = value.split("|").map((v) => v.trim()).filter(Boolean);
    else user[spec.name] = spec.type === "number" ? Number(value) : value;
  });
  return Object.keys(user).length ? user : null;
}

function ruleIds() {
  // Ids as the catalog holds them: numbers for an integer catalog, else strings.
  const ids = $("rule-ids").value.split(",").map((s) => s.trim()).filter((s) => s);
  return state.integerIds ? ids.map((s) => (/^-?\d+$/.test(s) ? Number(s) : s)) : ids;
}

function number(value) {
  return value === null || value === undefined ? "" : value.toFixed(3);
}

async function recommend() {
  const body = { history: state.history.map((r) => r.item_id), k: 10, user: userValues() };
  const kind = $("rule-kind").value;
  if (kind !== "none") body[kind] = ruleIds();
  const asked = ++state.asked;  // only the latest request's answer is shown
  try {
    const got = await call("/recommend", body);
    if (asked !== state.asked) return;
    const rows = got.items.map((r, i) => {
      const tr = document.createElement("tr");
      tr.dataset.id = JSON.stringify(r.item_id);
      const cells = [i + 1, r.title, r.item_id, number(r.score), number(r.retrieval_score),
        number(r.ranker_score)];
      cells.forEach((value, column) => {
        const td = document.createElement("td");
        td.textContent = value;
        if (column >= 3) td.className = "num";
        tr.appendChild(td);
      });
      return tr;
    });
    $("results").tBodies[0].replaceChildren(...rows);
    const how = got.cold_start ? "cold start: the most popular items" : `stage: ${got.stage}`;
    setStatus(`${how}; model ${got.model_version}`, false);
  } catch (error) {
    if (asked === state.asked) setStatus(error.message, true);
  }
}

async function start() {
  const schema = await call("/schema");
  state.fields = schema.user_fields;
  state.integerIds = schema.item_id_type === "integer";
  $("model").textContent = `model ${schema.model_version}, ${schema.num_items} items`;
  buildUserFields(state.fields);
  let pending;
  $("search").addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(() => search().catch((e) => setStatus(e.message, true)), 150);
  });
  $("recommend").addEventListener("click", recommend);
  $("rule-kind").addEventListener("change", recommend);
  $("rule-ids").addEventListener("change", recommend);
  await search();
  await recommend();
}

start().catch((error) => setStatus(error.message, true));
